using Sdk.Containers.Registry;

namespace Sdk.Containers.Targets;

public enum OutputKind
{
    /// <summary>A `docker load` tarball at Destination.</summary>
    DockerArchive,

    /// <summary>An oci-archive tarball at Destination.</summary>
    OciArchive,

    /// <summary>An OCI image layout directory at Destination.</summary>
    OciLayout,

    /// <summary>Loaded into the local Docker or Podman engine.</summary>
    Engine,

    /// <summary>Pushed to the registries of the image's names.</summary>
    Registry,

    /// <summary>The image's files, unpacked into the Destination directory.</summary>
    Rootfs,
}

/// <summary>One --output of a build, in buildx's syntax: type=docker|oci|registry|local[,dest=PATH][,tar=false].</summary>
public sealed record OutputSpec(OutputKind Kind, string? Destination = null)
{
    public static OutputSpec Parse(string value)
    {
        var fields = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var field in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = field.IndexOf('=');
            if (equals < 0 && fields.Count == 0 && !value.Contains('='))
            {
                // "--output DIR" is buildx's short form of type=local,dest=DIR.
                return new OutputSpec(OutputKind.Rootfs, field);
            }

            fields[equals < 0 ? field : field[..equals]] = equals < 0 ? "true" : field[(equals + 1)..];
        }

        var type = fields.GetValueOrDefault("type", "local").ToLowerInvariant();
        var destination = fields.GetValueOrDefault("dest");
        var tar = !string.Equals(fields.GetValueOrDefault("tar", "true"), "false", StringComparison.OrdinalIgnoreCase);
        var push = string.Equals(fields.GetValueOrDefault("push", "false"), "true", StringComparison.OrdinalIgnoreCase);
        return type switch
        {
            "docker" when destination is not null => new OutputSpec(OutputKind.DockerArchive, destination),
            "docker" => new OutputSpec(OutputKind.Engine),
            "oci" when destination is null => throw new ContainerException(ErrorCodes.InvalidOutput, $"--output {value}: type=oci needs dest=PATH (a tarball, or a directory with tar=false)."),
            "oci" => new OutputSpec(tar ? OutputKind.OciArchive : OutputKind.OciLayout, destination),
            "registry" => new OutputSpec(OutputKind.Registry),
            "image" when push => new OutputSpec(OutputKind.Registry),
            "local" when destination is not null => new OutputSpec(OutputKind.Rootfs, destination),
            "tar" when destination is not null => new OutputSpec(OutputKind.DockerArchive, destination),
            _ => throw new ContainerException(ErrorCodes.InvalidOutput, $"--output {value} is not an output this tool writes; use type=docker[,dest=PATH], type=oci,dest=PATH[,tar=false], type=registry or type=local,dest=DIR."),
        };
    }

    /// <summary>The target this output stands for; type=oci outputs carry OCI media types, as buildx writes them.</summary>
    public IImageTarget ToTarget(RegistrySession registries, DateTimeOffset timestamp, IBuildLog log) => Kind switch
    {
        OutputKind.DockerArchive => new DockerArchiveTarget(Destination!, timestamp, log),
        OutputKind.OciArchive => new OciMediaTypesTarget(new OciArchiveTarget(Destination!, timestamp, log), log),
        OutputKind.OciLayout => new OciMediaTypesTarget(new OciLayoutTarget(Destination!, log), log),
        OutputKind.Engine => new EngineTarget(null, null, timestamp, log),
        OutputKind.Registry => new RegistryTarget(registries, log),
        _ => new RootfsTarget(Destination!, log),
    };
}
