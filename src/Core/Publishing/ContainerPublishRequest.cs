using Sdk.Containers.Images;

namespace Sdk.Containers.Publishing;

public enum AppCommandInstruction
{
    /// <summary>Entrypoint = the app command and its args; Cmd = the default args.</summary>
    Entrypoint,

    /// <summary>Entrypoint = the user's entrypoint; Cmd = the app command, its args and the default args.</summary>
    DefaultArgs,

    /// <summary>Only what the user set.</summary>
    None,
}

/// <summary>Everything the publish path needs, as plain values: what MSBuild properties and CLI flags map to.</summary>
public sealed record ContainerPublishRequest
{
    public required string PublishDirectory { get; init; }

    /// <summary>docker-archive:PATH, oci:PATH[:TAG], oci-archive:PATH[:TAG] (registries come with the registry client).</summary>
    public required string BaseImage { get; init; }

    public required string AssemblyName { get; init; }

    public string RuntimeIdentifier { get; init; } = "linux-x64";

    public bool SelfContained { get; init; }

    /// <summary>The repository; the assembly name (made valid) when empty.</summary>
    public string? Repository { get; init; }

    /// <summary>The registry (host[:port]) to push to; the image is named after it.</summary>
    public string? Registry { get; init; }

    /// <summary>An OCI image layout directory to write the image into (as well as, or instead of, the other sinks).</summary>
    public string? OciLayoutOutputPath { get; init; }

    /// <summary>With no registry and no archive path the image is loaded into this engine: Docker or Podman (null: detect).</summary>
    public string? LocalRegistry { get; init; }

    /// <summary>Where the archive goes when the image was to be loaded into an engine and none answers.</summary>
    public string? FallbackArchiveOutputPath { get; init; }

    public IReadOnlyList<string> Tags { get; init; } = ["latest"];

    /// <summary>
    /// Whether a push first reads the image at its first tag and takes the blobs of layers it already holds (with
    /// the bytes this build would write) instead of compressing them again.
    /// </summary>
    public bool RegistryReuse { get; init; } = true;

    /// <summary>ContainerCacheFrom: more images whose layer blobs may be taken, as image references.</summary>
    public IReadOnlyList<string> CacheFrom { get; init; } = [];

    /// <summary>When set and no tags are given, tags come from this version (see <see cref="References.VersionTags"/>).</summary>
    public string? TagsFromVersion { get; init; }

    /// <summary>A file, or a directory (existing, or ending in a separator) where &lt;repository&gt;.tar is written.</summary>
    public string? ArchiveOutputPath { get; init; }

    /// <summary>Null keeps the base image's format.</summary>
    public ImageFormat? Format { get; init; }

    public string WorkingDirectory { get; init; } = "/app";

    /// <summary>The user to run as; null takes the base's APP_UID when it sets one, as the SDK does.</summary>
    public string? User { get; init; }

    /// <summary>ContainerAppFilesOwner: user[:group], by number or by the base's names, owning the working directory
    /// and every file the publish folder puts there; null: root, as always.</summary>
    public string? AppFilesOwner { get; init; }

    /// <summary>ContainerWorkingDirectoryWritable: the working directory owned by the user the app runs as
    /// (<see cref="User"/>, or the base's), so the app can write there; its files stay <see cref="AppFilesOwner"/>'s.</summary>
    public bool WorkingDirectoryWritable { get; init; }

    public IReadOnlyList<string> AppCommand { get; init; } = [];

    public IReadOnlyList<string> AppCommandArgs { get; init; } = [];

    public IReadOnlyList<string> DefaultArgs { get; init; } = [];

    public IReadOnlyList<string> Entrypoint { get; init; } = [];

    public IReadOnlyList<string> EntrypointArgs { get; init; } = [];

    /// <summary>Null: DefaultArgs when an entrypoint is given, else Entrypoint (the SDK's rule).</summary>
    public AppCommandInstruction? AppCommandInstruction { get; init; }

    public IReadOnlyList<KeyValuePair<string, string>> EnvironmentVariables { get; init; } = [];

    public IReadOnlyList<KeyValuePair<string, string>> Labels { get; init; } = [];

    /// <summary>Ports as "8080" or "8080/tcp" or "53/udp".</summary>
    public IReadOnlyList<string> Ports { get; init; } = [];

    /// <summary>The config's created time; null uses SOURCE_DATE_EPOCH or, failing that, now.</summary>
    public DateTimeOffset? Created { get; init; }

    /// <summary>The mtime of every layer and archive entry.</summary>
    public DateTimeOffset LayerTimestamp { get; init; } = Layers.LayerWriterOptions.DefaultTimestamp;

    /// <summary>
    /// ContainerLayerCompression: algorithm and level. Null chooses per output: none when the image only goes into a
    /// local engine (which unpacks it at once, as `docker save` writes it), else gzip.
    /// </summary>
    public Layers.LayerCompressionSetting? Compression { get; init; }

    public ContainerLayering Layering { get; init; } = ContainerLayering.ByChangeRate;

    /// <summary>Label org.opencontainers.image.created (and artifact.created) with the image's own creation time.</summary>
    public bool GenerateCreatedLabels { get; init; }

    /// <summary>Label org.opencontainers.image.base.digest with the base image's manifest digest.</summary>
    public bool GenerateBaseDigestLabel { get; init; }

    public IReadOnlyList<ExtraLayer> ExtraLayers { get; init; } = [];

    /// <summary>ContainerAnnotation: annotations of the image manifest (OCI images only, as buildx writes them).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Annotations { get; init; } = [];

    /// <summary>
    /// Annotate an OCI manifest with org.opencontainers.image.base.name and base.digest, as buildx does; Docker-format
    /// manifests have no annotations.
    /// </summary>
    public bool BaseImageAnnotations { get; init; } = true;

    /// <summary>ContainerSbom: spdx, cyclonedx, false; empty: spdx when the image is pushed to a registry.</summary>
    public string? Sbom { get; init; }

    /// <summary>ContainerProvenance: min, max, false; empty: min when the image is pushed to a registry.</summary>
    public string? Provenance { get; init; }

    /// <summary>ContainerSbomDirectory: the documents are written there as files too.</summary>
    public string? AttachmentDirectory { get; init; }

    /// <summary>The app's version and package id (when packable), for the SBOM.</summary>
    public string? AppVersion { get; init; }

    public string? PackageId { get; init; }

    /// <summary>The repository and commit the sources came from (SourceLink's RepositoryUrl and SourceRevisionId).</summary>
    public string? SourceRepositoryUrl { get; init; }

    public string? SourceRevision { get; init; }

    /// <summary>
    /// The image goes to a registry after this step (the per-platform build of a multi-RID push, whose layout the
    /// index step pushes): documents are attached as for a push.
    /// </summary>
    public bool PushedLater { get; init; }

    /// <summary>Who asks, for the provenance's builder id: msbuild or cli.</summary>
    public string Host { get; init; } = "msbuild";
}

public sealed record ContainerPublishResult(
    Image Image,
    string Repository,
    IReadOnlyList<string> RepoTags,
    string? ArchivePath,
    Registry.PushResult? Push,
    string? LoadedInto = null)
{
    /// <summary>Every push: one per repository of each registry (<see cref="Push"/> is the first).</summary>
    public IReadOnlyList<Registry.PushResult> Pushes { get; init; } = [];

    public string ConfigJson => System.Text.Encoding.UTF8.GetString(Image.ConfigBytes);

    public string ManifestJson => System.Text.Encoding.UTF8.GetString(Image.ManifestBytes);

    /// <summary>What the targets did, as the MSBuild task reports it: names in Docker's familiar form.</summary>
    internal static ContainerPublishResult From(Image image, string repository, IReadOnlyList<References.ImageReference> names, IReadOnlyList<Targets.TargetResult> results)
        => new(
            image,
            repository,
            names.Select(n => n.FamiliarName).ToArray(),
            results.Select(r => r.ArchivePath).FirstOrDefault(p => p is not null),
            results.SelectMany(r => r.Pushes).FirstOrDefault(),
            results.Select(r => r.LoadedInto).FirstOrDefault(l => l is not null))
        {
            Pushes = results.SelectMany(r => r.Pushes).ToArray(),
        };
}
