namespace Sdk.Containers;

/// <summary>One code of the catalog: what it means, as the README's error table says it.</summary>
public sealed record ErrorCode(string Code, string Meaning);

/// <summary>
/// The one catalog of error codes (CONTAINERxxxx; the SDK's own numbers where the SDK has the same error): every
/// code a build, the tasks or the CLI can report, with what it means. Throw sites use these constants, never a literal
/// (a test checks), and the README's error table is this catalog (a test compares them).
/// </summary>
public static class ErrorCodes
{
    public const string Cancelled = "CONTAINER1000";

    public const string Unexpected = "CONTAINER1001";

    public const string InvalidImageSource = "CONTAINER1010";

    public const string ArchiveCorrupt = "CONTAINER1011";

    public const string DigestMismatch = "CONTAINER1012";

    public const string UnsafeLayerEntry = "CONTAINER1013";

    public const string PublishDirectoryMissing = "CONTAINER1014";

    public const string InvalidOutput = "CONTAINER1015";

    public const string LayerTooLarge = "CONTAINER1016";

    public const string DiskFull = "CONTAINER1017";

    public const string LayerEntryFailed = "CONTAINER1018";

    public const string CredentialsUnavailable = "CONTAINER1020";

    public const string Unauthorized = "CONTAINER1021";

    public const string RegistryUnreachable = "CONTAINER1022";

    public const string RegistryError = "CONTAINER1023";

    public const string ImageNotFound = "CONTAINER1024";

    public const string CredentialsInBinlog = "CONTAINER1025";

    public const string EngineLoadFailed = "CONTAINER1030";

    public const string EngineFallback = "CONTAINER1031";

    public const string EngineMissing = "CONTAINER1032";

    public const string EngineImageMissing = "CONTAINER1033";

    public const string EngineExportFailed = "CONTAINER1034";

    public const string UnsupportedMediaType = "CONTAINER2001";

    public const string InvalidRepository = "CONTAINER2005";

    public const string InvalidTag = "CONTAINER2007";

    public const string PlatformNotFound = "CONTAINER2009";

    public const string InvalidPort = "CONTAINER2010";

    public const string InvalidLabel = "CONTAINER2011";

    public const string InvalidImageReference = "CONTAINER2012";

    public const string InvalidEnvironmentVariable = "CONTAINER2015";

    public const string InvalidImageFormat = "CONTAINER2016";

    public const string InvalidAppCommandInstruction = "CONTAINER2017";

    public const string InvalidChunkSize = "CONTAINER2018";

    public const string InvalidLayering = "CONTAINER2019";

    public const string InvalidContainerLayer = "CONTAINER2020";

    public const string InvalidLocalRegistry = "CONTAINER2021";

    public const string InvalidCompression = "CONTAINER2022";

    public const string ZstdNeedsOci = "CONTAINER2023";

    public const string InvalidFileOwner = "CONTAINER2024";

    public const string InvalidAnnotation = "CONTAINER2040";

    public const string AnnotationsNeedOci = "CONTAINER2041";

    public const string InvalidAttachment = "CONTAINER2042";

    public const string DockerfileSyntax = "CONTAINER3001";

    public const string NoBuildContext = "CONTAINER3002";

    public const string NoDockerfile = "CONTAINER3003";

    public const string NoSuchStage = "CONTAINER3004";

    public const string BadIgnoreLine = "CONTAINER3010";

    public const string BadGlob = "CONTAINER3011";

    public const string CopyDestinationNotDirectory = "CONTAINER3012";

    public const string CopySourceDangling = "CONTAINER3013";

    public const string CopyDestinationConflict = "CONTAINER3014";

    public const string NoOciRuntime = "CONTAINER3020";

    public const string RunNeedsRoot = "CONTAINER3021";

    public const string RunFailed = "CONTAINER3022";

    public const string OverlayUnavailable = "CONTAINER3023";

    public const string InvalidSnapshotter = "CONTAINER3024";

    public const string SnapshotStoreBusy = "CONTAINER3025";

    public const string InvalidKeepStorage = "CONTAINER3026";

    public const string InvalidSecret = "CONTAINER3027";

    public const string NoOutput = "CONTAINER3030";

    public const string InvalidCache = "CONTAINER3031";

    public const string CacheUnreadable = "CONTAINER3032";

    public const string SbomInputUnreadable = "CONTAINER3040";

    public const string DocumentsLeftOut = "CONTAINER3041";

    public const string CacheNotWritable = "CONTAINER3042";

    public static IReadOnlyList<ErrorCode> Catalog { get; } =
    [
        new(Cancelled, "The build was cancelled; nothing was written"),
        new(Unexpected, "An unexpected failure (a bug): one line with what failed; `SDK_CONTAINERS_DEBUG=1` (CLI) or the binlog shows where"),
        new(InvalidImageSource, "The base image source cannot be used (missing file, ambiguous, registry not supported yet)"),
        new(ArchiveCorrupt, "An archive or layout is corrupt: not a tar, truncated, missing a file its manifest names, JSON that does not parse, layer counts that disagree"),
        new(DigestMismatch, "A digest or diff_id does not match the content (of an archive, a layout, or a pulled image)"),
        new(UnsafeLayerEntry, "An archive or layer entry that would escape the root (`..`, absolute, link tricks), a device node, a duplicate"),
        new(PublishDirectoryMissing, "The publish directory is missing"),
        new(InvalidOutput, "A bad `--output`, `--progress` or other output choice of the CLI"),
        new(LayerTooLarge, "A layer holds more tar than `SDK_CONTAINERS_UNPACK_LIMIT` allows to unpack (or `SDK_CONTAINERS_VERIFY_LIMIT` to verify), or one of them is not a size"),
        new(DiskFull, "Unpacking would fill the target's file system; names the archive, the entry and the directory"),
        new(LayerEntryFailed, "A file could not be written into a layer (or unpacked out of one): names the file, the layer and the reason"),
        new(CredentialsUnavailable, "Credentials cannot be read (bad config.json, missing credential helper)"),
        new(Unauthorized, "The registry refused the credentials, or none were found; names the registry and where the credentials came from"),
        new(RegistryUnreachable, "The registry cannot be reached (after retries), or TLS fails"),
        new(RegistryError, "The registry answered an unexpected status, after retries; says which blob or manifest"),
        new(ImageNotFound, "The image is not in the registry"),
        new(CredentialsInBinlog, "(warning) Credentials come from `DOTNET_CONTAINER_REGISTRY_*`, which MSBuild writes into binlogs"),
        new(EngineLoadFailed, "Loading into Docker/Podman failed"),
        new(EngineFallback, "(warning) No engine answered, so the image was written to a tarball instead"),
        new(EngineMissing, "No Docker or Podman engine answered where one was required (`--load`, `LocalRegistry`, a `docker-daemon:` or `podman:` base); names the engine and what it said"),
        new(EngineImageMissing, "The local engine has no image of the name a `docker-daemon:` or `podman:` base gives; `docker pull` or `docker build` it first"),
        new(EngineExportFailed, "Exporting a `docker-daemon:` or `podman:` base with `docker save` / `podman image save` failed; names the image and the engine's message"),
        new(UnsupportedMediaType, "A manifest or layer of a media type this tool does not read"),
        new(InvalidRepository, "Bad repository name"),
        new(InvalidTag, "Bad tag"),
        new(PlatformNotFound, "No image for the target platform"),
        new(InvalidPort, "Bad `ContainerPort`"),
        new(InvalidLabel, "Bad `ContainerLabel`"),
        new(InvalidImageReference, "Bad image reference"),
        new(InvalidEnvironmentVariable, "Bad `ContainerEnvironmentVariable`"),
        new(InvalidImageFormat, "Bad `ContainerImageFormat`"),
        new(InvalidAppCommandInstruction, "Bad `ContainerAppCommandInstruction`"),
        new(InvalidChunkSize, "Bad `ContainerRegistryChunkSize`"),
        new(InvalidLayering, "Bad `ContainerLayering`"),
        new(InvalidContainerLayer, "Bad `ContainerLayer` item (no absolute `Destination`, missing source, bad `Mode`)"),
        new(InvalidLocalRegistry, "Bad `LocalRegistry`"),
        new(InvalidCompression, "Bad `ContainerLayerCompression`"),
        new(ZstdNeedsOci, "zstd layers asked for a Docker-format image"),
        new(InvalidFileOwner, "Bad `ContainerAppFilesOwner`, `ContainerLayer` `Owner` or (with `ContainerWorkingDirectoryWritable`) `ContainerUser`: not `user[:group]`, or a name the base image's /etc/passwd or /etc/group does not define; names the setting, the name and the base"),
        new(InvalidAnnotation, "Bad `ContainerAnnotation` item or `--annotation` (empty key, or an unknown `manifest:`/`index:` prefix)"),
        new(AnnotationsNeedOci, "Annotations asked for a Docker-format image (Docker manifests have none): set `ContainerImageFormat` to `OCI`"),
        new(InvalidAttachment, "Bad `ContainerSbom` / `ContainerProvenance` (or `--sbom` / `--provenance`) value"),
        new(DockerfileSyntax, "A Dockerfile error: `file:line[:column]: what to fix` (syntax, unknown stage, bad flag, missing source, bad exec form)"),
        new(NoBuildContext, "The build context does not exist"),
        new(NoDockerfile, "There is no Dockerfile at the path given"),
        new(NoSuchStage, "No stage of the `--target` name"),
        new(BadIgnoreLine, "A bad `.dockerignore` line"),
        new(BadGlob, "A bad glob pattern"),
        new(CopyDestinationNotDirectory, "Several COPY sources, and a destination that is not a directory"),
        new(CopySourceDangling, "A COPY source is a symbolic link to nothing in its tree"),
        new(CopyDestinationConflict, "A COPY destination that exists and is of the wrong kind"),
        new(NoOciRuntime, "RUN: no OCI runtime installed"),
        new(RunNeedsRoot, "RUN: not root"),
        new(RunFailed, "RUN: the command failed (exit code, instruction and line)"),
        new(OverlayUnavailable, "overlayfs cannot be mounted where `SDK_CONTAINERS_SNAPSHOTTER=overlayfs` asks for it (or for that many layers)"),
        new(InvalidSnapshotter, "A bad `SDK_CONTAINERS_SNAPSHOTTER`"),
        new(SnapshotStoreBusy, "`prune` while a build is running on the cache"),
        new(InvalidKeepStorage, "A bad `--keep-storage` or `SDK_CONTAINERS_CACHE_LIMIT` size"),
        new(InvalidSecret, "A bad `--secret`/`--ssh`/`ContainerBuildSecret`, a secret whose file or variable cannot be read, a required secret or agent not given"),
        new(NoOutput, "(warning) A build with no output: the image stays in the build cache only"),
        new(InvalidCache, "A bad `--cache-to`/`--cache-from` (or `ContainerCacheTo`/`ContainerCacheFrom` with `ContainerDockerfile`)"),
        new(CacheUnreadable, "(warning) A `--cache-from` cache that cannot be read or is not one of ours: the build goes on without it"),
        new(SbomInputUnreadable, "No SBOM can be made: the publish folder's `<app>.deps.json` is missing or unreadable, or its `.runtimeconfig.json` is not JSON"),
        new(DocumentsLeftOut, "(warning) An output that re-serialises the image (type=oci of a Docker-format image) could not make its SBOM and provenance again for the new digest, so it holds the image without them"),
        new(CacheNotWritable, "The cache directory cannot be used (its lock file cannot be made or read); names it, and says to set `ContainerCacheDirectory`, `--cache` or `SDK_CONTAINERS_CACHE` to a writable directory"),
    ];
}
