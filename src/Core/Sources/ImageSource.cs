namespace Sdk.Containers.Sources;

public enum ImageTransport
{
    DockerArchive,
    OciLayout,
    OciArchive,
    Registry,

    /// <summary>An image in the local Docker engine, exported with `docker save`.</summary>
    DockerDaemon,

    /// <summary>An image in Podman's local storage, exported with `podman image save`.</summary>
    Podman,
}

/// <summary>
/// Where a base image comes from, in the containers-transports syntax skopeo and podman use:
/// <c>docker-archive:PATH[:NAME:TAG]</c>, <c>oci:PATH[:REF]</c>, <c>oci-archive:PATH[:REF]</c>,
/// <c>docker-daemon:NAME[:TAG|@DIGEST]</c> or <c>podman:NAME[:TAG|@DIGEST]</c> (also an image ID, <c>sha256:…</c>),
/// or a registry reference. For the engines, <see cref="Location"/> is the name as written: the engine resolves it
/// (Podman's short names, Docker's <c>latest</c>) as its own CLI would.
/// </summary>
public sealed record ImageSource(ImageTransport Transport, string Location, string? Reference)
{
    /// <summary>Read through a local engine (docker-daemon:, podman:) rather than from a file or a registry.</summary>
    public bool IsLocalEngine => Transport is ImageTransport.DockerDaemon or ImageTransport.Podman;

    public override string ToString() => Transport switch
    {
        ImageTransport.DockerArchive => $"docker-archive:{Location}{(Reference is null ? string.Empty : ":" + Reference)}",
        ImageTransport.OciLayout => $"oci:{Location}{(Reference is null ? string.Empty : ":" + Reference)}",
        ImageTransport.OciArchive => $"oci-archive:{Location}{(Reference is null ? string.Empty : ":" + Reference)}",
        ImageTransport.DockerDaemon => $"docker-daemon:{Location}",
        ImageTransport.Podman => $"podman:{Location}",
        _ => Location,
    };

    public static ImageSource Parse(string value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new ContainerException(ErrorCodes.InvalidImageSource, "No base image was given.");
        }

        value = value.Trim();
        if (TryStrip(value, "docker-archive:", out var rest))
        {
            var (path, reference) = SplitPathAndReference(rest, referenceMayHaveColon: true);
            return new ImageSource(ImageTransport.DockerArchive, path, reference);
        }

        if (TryStrip(value, "oci-archive:", out rest))
        {
            var (path, reference) = SplitPathAndReference(rest, referenceMayHaveColon: false);
            return new ImageSource(ImageTransport.OciArchive, path, reference);
        }

        if (TryStrip(value, "oci:", out rest))
        {
            var (path, reference) = SplitPathAndReference(rest, referenceMayHaveColon: false);
            return new ImageSource(ImageTransport.OciLayout, path, reference);
        }

        if (TryStrip(value, "docker-daemon:", out rest))
        {
            return new ImageSource(ImageTransport.DockerDaemon, EngineName(rest, value), null);
        }

        if (TryStrip(value, "podman:", out rest))
        {
            return new ImageSource(ImageTransport.Podman, EngineName(rest, value), null);
        }

        if (TryStrip(value, "docker://", out rest))
        {
            return new ImageSource(ImageTransport.Registry, rest, null);
        }

        return new ImageSource(ImageTransport.Registry, value, null);
    }

    /// <summary>For commands given a bare path: a directory is an OCI layout, a file an archive of either kind.</summary>
    public static ImageSource FromPath(string path)
    {
        if (path.Contains(':') && !File.Exists(path) && !Directory.Exists(path))
        {
            return Parse(path);
        }

        if (Directory.Exists(path))
        {
            return new ImageSource(ImageTransport.OciLayout, path, null);
        }

        if (File.Exists(path))
        {
            // A docker-archive we write is also an oci-archive; the loader looks at manifest.json first.
            return new ImageSource(ImageTransport.DockerArchive, path, null);
        }

        throw new ContainerException(ErrorCodes.InvalidImageSource, $"'{path}' is neither a file nor a directory.");
    }

    /// <summary>
    /// An engine's image: an ID (<c>sha256:…</c>, as `docker images --no-trunc` shows it) or a reference. It is checked
    /// here because it goes on the engine's command line: nothing that could read as an option gets there.
    /// </summary>
    private static string EngineName(string name, string whole)
    {
        if (name.StartsWith("sha256:", StringComparison.Ordinal))
        {
            return Digests.Digest.TryParse(name, out _, out var error)
                ? name
                : throw new ContainerException(ErrorCodes.InvalidImageSource, $"'{whole}' names the image ID '{name}', which is not one: {error}.");
        }

        try
        {
            References.ImageReference.Parse(name, "image name");
            return name;
        }
        catch (ContainerException ex)
        {
            throw new ContainerException(ErrorCodes.InvalidImageReference, $"'{whole}' does not name an image ({ex.Message.TrimEnd('.')}); write {whole[..(whole.Length - name.Length)]}NAME[:TAG], NAME@sha256:DIGEST or sha256:IMAGEID.", ex);
        }
    }

    private static bool TryStrip(string value, string prefix, out string rest)
    {
        if (value.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
        {
            rest = value[prefix.Length..];
            if (rest.Length == 0)
            {
                throw new ContainerException(ErrorCodes.InvalidImageSource, prefix is "docker-daemon:" or "podman:"
                    ? $"'{value}' names no image; write {prefix}NAME:TAG."
                    : $"'{value}' names no path; write {prefix}PATH.");
            }

            return true;
        }

        rest = string.Empty;
        return false;
    }

    // The path is taken up to the first ':' after its last '/', so "oci:./layout:v1" is path ./layout and tag v1;
    // docker-archive references are NAME:TAG themselves, so they start at the first such colon.
    private static (string Path, string? Reference) SplitPathAndReference(string value, bool referenceMayHaveColon)
    {
        if (File.Exists(value) || Directory.Exists(value))
        {
            return (value, null);
        }

        if (referenceMayHaveColon)
        {
            // NAME:TAG holds a colon of its own: the path ends at the first colon after an existing file or a .tar name.
            for (var i = value.IndexOf(':'); i > 0; i = value.IndexOf(':', i + 1))
            {
                var candidate = value[..i];
                if (File.Exists(candidate) || candidate.EndsWith(".tar", StringComparison.OrdinalIgnoreCase) || candidate.EndsWith(".tar.gz", StringComparison.OrdinalIgnoreCase))
                {
                    return (candidate, i + 1 < value.Length ? value[(i + 1)..] : null);
                }
            }
        }

        var lastSlash = value.LastIndexOf('/');
        var colon = value.LastIndexOf(':');
        if (colon <= lastSlash || colon <= 0)
        {
            return (value, null);
        }

        var reference = value[(colon + 1)..];
        return (value[..colon], reference.Length == 0 ? null : reference);
    }
}
