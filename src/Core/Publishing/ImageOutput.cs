using Sdk.Containers.Archives;
using Sdk.Containers.Images;
using Sdk.Containers.References;
using Sdk.Containers.Registry;
using Sdk.Containers.Unpacking;

namespace Sdk.Containers.Publishing;

public enum ImageOutputKind
{
    /// <summary>A `docker load` tarball at Destination.</summary>
    DockerArchive,

    /// <summary>An oci-archive tarball at Destination.</summary>
    OciArchive,

    /// <summary>An OCI image layout directory at Destination.</summary>
    OciLayout,

    /// <summary>Loaded into the local Docker or Podman engine.</summary>
    Daemon,

    /// <summary>Pushed to the registries of the image's names.</summary>
    Registry,

    /// <summary>The image's files, unpacked into the Destination directory.</summary>
    Local,
}

/// <summary>Where a built image goes, in buildx's --output syntax: type=docker|oci|registry|local[,dest=PATH][,tar=false].</summary>
public sealed record ImageOutput(ImageOutputKind Kind, string? Destination = null)
{
    /// <summary>For <see cref="ImageOutputKind.Daemon"/>: the engine, when it was already found; else it is looked for.</summary>
    public Daemons.LocalDaemon? Engine { get; init; }

    public static ImageOutput Parse(string value)
    {
        var fields = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var field in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = field.IndexOf('=');
            if (equals < 0 && fields.Count == 0 && !value.Contains('='))
            {
                // "--output DIR" is buildx's short form of type=local,dest=DIR.
                return new ImageOutput(ImageOutputKind.Local, field);
            }

            fields[equals < 0 ? field : field[..equals]] = equals < 0 ? "true" : field[(equals + 1)..];
        }

        var type = fields.GetValueOrDefault("type", "local").ToLowerInvariant();
        var destination = fields.GetValueOrDefault("dest");
        var tar = !string.Equals(fields.GetValueOrDefault("tar", "true"), "false", StringComparison.OrdinalIgnoreCase);
        var push = string.Equals(fields.GetValueOrDefault("push", "false"), "true", StringComparison.OrdinalIgnoreCase);
        return type switch
        {
            "docker" when destination is not null => new ImageOutput(ImageOutputKind.DockerArchive, destination),
            "docker" => new ImageOutput(ImageOutputKind.Daemon),
            "oci" when destination is null => throw new ContainerException(ErrorCodes.InvalidOutput, $"--output {value}: type=oci needs dest=PATH (a tarball, or a directory with tar=false)."),
            "oci" => new ImageOutput(tar ? ImageOutputKind.OciArchive : ImageOutputKind.OciLayout, destination),
            "registry" => new ImageOutput(ImageOutputKind.Registry),
            "image" when push => new ImageOutput(ImageOutputKind.Registry),
            "local" when destination is not null => new ImageOutput(ImageOutputKind.Local, destination),
            "tar" when destination is not null => new ImageOutput(ImageOutputKind.DockerArchive, destination),
            _ => throw new ContainerException(ErrorCodes.InvalidOutput, $"--output {value} is not an output this tool writes; use type=docker[,dest=PATH], type=oci,dest=PATH[,tar=false], type=registry or type=local,dest=DIR."),
        };
    }

    /// <summary>Sends an image to each output; every file is written to a temporary name and renamed when complete.</summary>
    public static async Task DeliverAsync(Image image, IReadOnlyList<string> names, IReadOnlyList<ImageOutput> outputs, RegistrySession registries, DateTimeOffset timestamp, IBuildLog log, CancellationToken cancellationToken)
    {
        var references = names.Select(n => ImageReference.Parse(n, "-t")).ToArray();

        // OCI outputs carry OCI media types, as buildx writes them; the config bytes (and so the image ID) stay the same.
        Image? oci = null;
        Image AsOci() => oci ??= image.Format == ImageFormat.Oci ? image : Image.Create(ImageFormat.Oci, image.Config, image.ConfigBytes, image.Layers);
        var repoTags = references.Select(r => ImageNaming.Short($"{r.Registry}/{r.Repository}:{r.Tag ?? "latest"}")).ToArray();
        foreach (var output in outputs)
        {
            switch (output.Kind)
            {
                case ImageOutputKind.DockerArchive:
                    await DockerArchiveWriter.WriteAsync(image, repoTags, output.Destination!, timestamp, cancellationToken).ConfigureAwait(false);
                    log.Info($"Wrote {Describe(repoTags)} to {output.Destination} (image ID {image.ConfigDigest})");
                    break;
                case ImageOutputKind.OciArchive:
                    await OciArchiveWriter.WriteAsync(AsOci(), repoTags.FirstOrDefault(), output.Destination!, timestamp, cancellationToken).ConfigureAwait(false);
                    log.Info($"Wrote {Describe(repoTags)} to the oci-archive {output.Destination} (digest {AsOci().ManifestDigest})");
                    break;
                case ImageOutputKind.OciLayout:
                    await OciLayoutWriter.WriteAsync(AsOci(), repoTags.FirstOrDefault(), output.Destination!, cancellationToken).ConfigureAwait(false);
                    log.Info($"Wrote {Describe(repoTags)} to the OCI layout {output.Destination} (digest {AsOci().ManifestDigest})");
                    break;
                case ImageOutputKind.Daemon:
                    var daemon = output.Engine ?? await Daemons.LocalDaemon.DetectAsync(null, log, cancellationToken, image, repoTags).ConfigureAwait(false)
                        ?? throw new ContainerException(ErrorCodes.EngineMissing, "--load needs a Docker or Podman engine, and none answered. Start one, or write the image with --output type=docker,dest=FILE.");
                    log.Info(await daemon.LoadAsync(image, repoTags, timestamp, cancellationToken).ConfigureAwait(false)
                        ? $"Loaded {Describe(repoTags)} into {daemon.Command} (image ID {image.ConfigDigest})"
                        : $"{daemon.Command} already has {Describe(repoTags)} as image ID {image.ConfigDigest}: nothing to load");
                    break;
                case ImageOutputKind.Registry:
                    foreach (var (location, tags) in RegistryTargets(references))
                    {
                        var push = await new RegistryPusher(registries).PushAsync(image, location, tags, cancellationToken).ConfigureAwait(false);
                        log.Info($"Pushed {location.Registry}/{location.Repository} ({string.Join(", ", tags)}): {push.BlobsUploaded} blobs uploaded ({push.BytesUploaded:N0} bytes), {push.BlobsMounted} mounted, {push.BlobsExisting} already there; digest {image.ManifestDigest}");
                    }

                    break;
                case ImageOutputKind.Local:
                    Directory.CreateDirectory(output.Destination!);
                    for (var i = 0; i < image.Layers.Count; i++)
                    {
                        await LayerUnpacker.UnpackLayerAsync(image.Layers[i], output.Destination!, $"layer {i + 1}", cancellationToken).ConfigureAwait(false);
                    }

                    log.Info($"Unpacked the image's files into {output.Destination}");
                    break;
            }
        }
    }

    /// <summary>The repositories the names push to, each with its tags; a push needs at least one name.</summary>
    internal static IEnumerable<(RepositoryLocation Location, string[] Tags)> RegistryTargets(IReadOnlyList<ImageReference> references)
    {
        if (references.Count == 0)
        {
            throw new ContainerException(ErrorCodes.InvalidOutput, "--push needs a name to push to: add -t registry.example.com/team/app:tag.");
        }

        return references.GroupBy(r => (r.Registry, r.Repository))
            .Select(g => (new RepositoryLocation(g.Key.Registry, g.Key.Repository), g.Select(r => r.Tag ?? "latest").Distinct(StringComparer.Ordinal).ToArray()));
    }

    private static string Describe(IReadOnlyList<string> repoTags) => repoTags.Count == 0 ? "the image" : string.Join(", ", repoTags);
}
