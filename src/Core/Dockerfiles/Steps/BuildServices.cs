using Sdk.Containers.Building;
using Sdk.Containers.Images;
using Sdk.Containers.Layers;
using Sdk.Containers.Running;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Dockerfiles;

/// <summary>What steps write with, made once per build: the log, the blob store and step cache, the workspace and
/// the roots steps run on, the OCI runtime, and the counters of work done.</summary>
internal sealed class BuildServices(IBuildLog log, BlobStore store, BuildCache cache, BuildWorkspace workspace, Snapshotter snapshotter, DockerfileBuildRequest request, string file)
{
    private OverlayStageRoots? _overlay;
    private OciRuntime? _runtime;

    public IBuildLog Log => log;

    public BlobStore Store => store;

    public BuildCache Cache => cache;

    public StepCache Steps => field ??= new StepCache(Cache);

    /// <summary>The --cache-from caches' steps, when there are any.</summary>
    public Caches.ImportedSteps? Imported { get; init; }

    /// <summary>Every step of this build (and of the builder's earlier platforms), for --cache-to.</summary>
    public Caches.StepCacheExport Export { get; init; } = new();

    public BuildWorkspace Workspace => workspace;

    /// <summary>Scratch space of this build (scripts, downloads, copies for writable binds).</summary>
    public string Work => workspace.Root;

    public BuildCounters Counters { get; } = new();

    /// <summary>Where a stage's steps run: all stages share the overlay roots; copied roots are one per stage.</summary>
    public IStageRoot NewStageRoot(string description) => snapshotter == Snapshotter.Overlayfs
        ? _overlay ??= new OverlayStageRoots(workspace.ShareSnapshots(SnapshotStore.ForCache(store)), workspace, Counters, log, file)
        : new CopiedStageRoot(workspace, Counters, log, description);

    /// <summary>The OCI runtime, found when the first RUN needs it.</summary>
    public OciRuntime Runtime(string where) => _runtime ??= OciRuntime.Find(where);

    public LayerWriterOptions LayerOptions() => new()
    {
        Timestamp = request.LayerTimestamp,
        Compression = request.Compression,
    };
}
