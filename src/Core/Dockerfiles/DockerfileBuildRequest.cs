using Sdk.Containers.Images;
using Sdk.Containers.Layers;

namespace Sdk.Containers.Dockerfiles;

public sealed record DockerfileBuildRequest
{
    /// <summary>The build context: COPY and ADD sources are relative to it.</summary>
    public required string ContextDirectory { get; init; }

    /// <summary>The Dockerfile; `Dockerfile` in the context when null.</summary>
    public string? DockerfilePath { get; init; }

    public IReadOnlyDictionary<string, string> BuildArguments { get; init; } = new Dictionary<string, string>();

    /// <summary>The stage to build (by name); the last one when null.</summary>
    public string? Target { get; init; }

    /// <summary>The platform to build for; this machine's when null.</summary>
    public Platform? Platform { get; init; }

    /// <summary>Do every step again rather than reuse the layers of an earlier build.</summary>
    public bool NoCache { get; init; }

    /// <summary>
    /// Named contexts, as buildx's --build-context: a FROM or COPY --from of that name takes
    /// docker-image://REF, oci-layout://PATH[:TAG], docker-archive://PATH, or a local directory.
    /// </summary>
    public IReadOnlyDictionary<string, string> NamedContexts { get; init; } = new Dictionary<string, string>();

    /// <summary>The manifest format; the base image's (Docker for FROM scratch) when null.</summary>
    public ImageFormat? Format { get; init; }

    public DateTimeOffset? Created { get; init; }

    public DateTimeOffset LayerTimestamp { get; init; } = LayerWriterOptions.DefaultTimestamp;

    public LayerCompressionSetting Compression { get; init; } = LayerCompressionSetting.Default;

    /// <summary>Secrets RUN --mount=type=secret may mount, by id (buildx's --secret).</summary>
    public IReadOnlyDictionary<string, BuildSecret> Secrets { get; init; } = new Dictionary<string, BuildSecret>();

    /// <summary>SSH agents RUN --mount=type=ssh may use, by id (buildx's --ssh).</summary>
    public IReadOnlyDictionary<string, SshAgent> Ssh { get; init; } = new Dictionary<string, SshAgent>();

    /// <summary>How steps get their root; chosen by SDK_CONTAINERS_SNAPSHOTTER, else overlayfs where it mounts, when null.</summary>
    public Snapshotter? Snapshotter { get; init; }

    /// <summary>Step caches to take steps from when this machine's cache misses (buildx's --cache-from).</summary>
    public IReadOnlyList<Caches.CacheSpec> CacheFrom { get; init; } = [];

    /// <summary>Where to write this build's steps and their layers for other machines (buildx's --cache-to).</summary>
    public IReadOnlyList<Caches.CacheSpec> CacheTo { get; init; } = [];

    /// <summary>Annotations of the image manifest (OCI images only).</summary>
    public IReadOnlyDictionary<string, string> Annotations { get; init; } = new Dictionary<string, string>();
}

/// <param name="StepsRun">Filesystem steps done (RUN, COPY, ADD, WORKDIR) rather than taken from the cache.</param>
/// <param name="StepsCached">Filesystem steps whose layer came from the cache.</param>
public sealed record DockerfileBuildResult(Image Image, int StepsRun, int StepsCached)
{
    /// <summary>Layers unpacked (into the snapshot store, or into copied roots).</summary>
    public int LayersUnpacked { get; init; }

    /// <summary>Overlay mounts made.</summary>
    public int Mounts { get; init; }

    public Snapshotter Snapshotter { get; init; }

    /// <summary>Of <see cref="StepsCached"/>, the steps taken from a --cache-from cache (their layers fetched).</summary>
    public int StepsImported { get; init; }

    /// <summary>The file steps of the stages built, in Dockerfile order, for max provenance.</summary>
    public IReadOnlyList<Supply.StepProvenance> Steps { get; init; } = [];

    /// <summary>The images the build read (FROM, COPY --from), for the provenance.</summary>
    public IReadOnlyList<ResolvedImage> Images { get; init; } = [];

    /// <summary>The Dockerfile's path as messages name it, and the digest of its bytes.</summary>
    public string DockerfileName { get; init; } = "Dockerfile";

    public Digests.Digest? DockerfileDigest { get; init; }
}

public enum Snapshotter
{
    /// <summary>Steps run on overlayfs over snapshots unpacked once per machine; a step's layer is its upper directory.</summary>
    Overlayfs,

    /// <summary>The fallback: layers unpacked into a copied root per stage, each step's change found by walking it.</summary>
    Native,
}
