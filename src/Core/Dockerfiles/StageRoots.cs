using System.Collections.Concurrent;
using Sdk.Containers.Digests;
using Sdk.Containers.Layers;
using Sdk.Containers.Storage;
using Sdk.Containers.Unpacking;

namespace Sdk.Containers.Dockerfiles;

/// <summary>What one step changed, and what to do with its files once the layer is written or found empty.</summary>
/// <param name="Commit">Called with the stage's layers including the new one.</param>
internal sealed record StepChanges(IReadOnlyList<LayerEntry> Entries, Action<IReadOnlyList<Layer>> Commit, Action Discard);

/// <summary>The changed paths a step reports that belong to the run only (mount points), for the differ to leave out.</summary>
internal delegate Task<IReadOnlySet<string>?> RootChange(string root, CancellationToken cancellationToken);

/// <summary>Where a stage's steps run: a root holding its layers, changed by a step, whose difference is the layer.</summary>
internal interface IStageRoot
{
    Task<StepChanges> ChangeAsync(IReadOnlyList<Layer> layers, RootChange change, CancellationToken cancellationToken);

    /// <summary>A root holding the layers, to read files from (COPY --from, RUN --mount from=).</summary>
    Task<string> ViewAsync(IReadOnlyList<Layer> layers, CancellationToken cancellationToken);
}

/// <summary>
/// Steps on overlayfs over the snapshot store: the lower directories are the layers' snapshots (unpacked once per
/// machine), the upper one is the step's own, and becomes the snapshot of the layer it makes.
/// </summary>
internal sealed class OverlayStageRoots(SnapshotStore snapshots, BuildWorkspace workspace, BuildCounters counters, IBuildLog log, string description) : IStageRoot
{
    private readonly ConcurrentDictionary<Digest, Lazy<Task<string>>> _snapshots = new();
    private readonly ConcurrentDictionary<Digest, Lazy<Task<string>>> _views = new();
    private readonly Lazy<string> _empty = new(() => workspace.NewDirectory("empty"));

    public async Task<StepChanges> ChangeAsync(IReadOnlyList<Layer> layers, RootChange change, CancellationToken cancellationToken)
    {
        var lowers = await SnapshotsAsync(layers, cancellationToken).ConfigureAwait(false);
        var pending = workspace.NewDirectory("step");
        var upper = Directory.CreateDirectory(Path.Combine(pending, "fs")).FullName;
        var work = Directory.CreateDirectory(Path.Combine(pending, "work")).FullName;
        var merged = workspace.NewDirectory("merged");
        Mount(merged, () => Overlay.MountWritable(merged, lowers.Count == 0 ? [_empty.Value] : lowers, upper, work), lowers.Count);
        IReadOnlySet<string>? ignore;
        try
        {
            ignore = await change(merged, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            workspace.Unmount(merged);
        }

        var lower = lowers.Count switch
        {
            0 => _empty.Value,
            1 => lowers[0],
            _ => workspace.NewDirectory("lower"),
        };
        IReadOnlyList<LayerEntry> entries;
        var sockets = new List<string>();
        if (lowers.Count > 1)
        {
            Mount(lower, () => Overlay.MountReadOnly(lower, lowers), lowers.Count);
            try
            {
                entries = OverlayDiff.Compute(upper, lower, ignore, sockets);
            }
            finally
            {
                workspace.Unmount(lower);
            }
        }
        else
        {
            entries = OverlayDiff.Compute(upper, lower, ignore, sockets);
        }

        return new StepChanges(
            entries,
            all =>
            {
                // The snapshot holds what the layer holds: the sockets the differ left out go too.
                sockets.ForEach(File.Delete);
                SnapshotStore.Delete(work);
                var chain = SnapshotStore.ChainIds(all)[^1];
                _snapshots.TryAdd(chain, new Lazy<Task<string>>(Task.FromResult(snapshots.Commit(chain, pending))));
            },
            () => SnapshotStore.Delete(pending));
    }

    public async Task<string> ViewAsync(IReadOnlyList<Layer> layers, CancellationToken cancellationToken)
    {
        if (layers.Count == 0)
        {
            return _empty.Value;
        }

        var chain = SnapshotStore.ChainIds(layers)[^1];
        return await _views.GetOrAdd(chain, _ => new Lazy<Task<string>>(async () =>
        {
            var lowers = await SnapshotsAsync(layers, cancellationToken).ConfigureAwait(false);
            if (lowers.Count == 1)
            {
                return lowers[0];
            }

            var view = workspace.NewDirectory("view");
            Mount(view, () => Overlay.MountReadOnly(view, lowers), lowers.Count);
            return view;
        })).Value.ConfigureAwait(false);
    }

    private void Mount(string target, Action mount, int layerCount)
    {
        try
        {
            mount();
        }
        catch (IOException ex)
        {
            throw new ContainerException(ErrorCodes.OverlayUnavailable, $"{description}: could not mount an overlay of {layerCount} layers ({ex.Message}). Set SDK_CONTAINERS_SNAPSHOTTER=native to build on copied roots instead.", ex);
        }

        workspace.Mounted(target);
    }

    /// <summary>The snapshot of each layer, bottom first, unpacking (once per machine) those the store lacks.</summary>
    private async Task<IReadOnlyList<string>> SnapshotsAsync(IReadOnlyList<Layer> layers, CancellationToken cancellationToken)
    {
        var chains = SnapshotStore.ChainIds(layers);
        var found = new List<string>(layers.Count);
        for (var i = 0; i < layers.Count; i++)
        {
            var index = i;
            var below = found.ToArray();
            found.Add(await _snapshots.GetOrAdd(chains[i], chain => new Lazy<Task<string>>(() => snapshots.TryGet(chain) is { } existing
                ? Task.FromResult(existing)
                : UnpackAsync(layers[index], chain, below, cancellationToken))).Value.ConfigureAwait(false));
        }

        return found;
    }

    private async Task<string> UnpackAsync(Layer layer, Digest chain, IReadOnlyList<string> lowers, CancellationToken cancellationToken)
    {
        var pending = workspace.NewDirectory("unpack");
        var fs = Directory.CreateDirectory(Path.Combine(pending, "fs")).FullName;
        var what = $"layer {layer.DiffId}";
        log.Info($"extracting {layer.Descriptor.Digest} ({layer.Descriptor.Size:N0} bytes) into the snapshot store");
        if (lowers.Count == 0)
        {
            await LayerUnpacker.UnpackLayerAsync(layer, fs, what, cancellationToken, allowDeviceNodes: true).ConfigureAwait(false);
        }
        else
        {
            // Applied through an overlay of the layers below, so whiteouts, opaque directories and hard links to lower
            // files become what overlayfs itself writes in an upper directory.
            var work = Directory.CreateDirectory(Path.Combine(pending, "work")).FullName;
            var merged = workspace.NewDirectory("merged");
            Mount(merged, () => Overlay.MountWritable(merged, lowers, fs, work), lowers.Count);
            try
            {
                await LayerUnpacker.UnpackLayerAsync(layer, merged, what, cancellationToken, allowDeviceNodes: true).ConfigureAwait(false);
            }
            finally
            {
                workspace.Unmount(merged);
            }

            SnapshotStore.Delete(work);
        }

        counters.LayersUnpacked++;
        return snapshots.Commit(chain, pending);
    }
}

/// <summary>
/// The fallback where overlayfs cannot be mounted: one copied root per stage, its layers unpacked into it, and each
/// step's difference found by walking the whole root before and after.
/// </summary>
internal sealed class CopiedStageRoot(BuildWorkspace workspace, BuildCounters counters, IBuildLog log, string description) : IStageRoot
{
    private string? _root;
    private int _applied;
    private RootfsSnapshot? _snapshot;

    public async Task<StepChanges> ChangeAsync(IReadOnlyList<Layer> layers, RootChange change, CancellationToken cancellationToken)
    {
        var root = await ViewAsync(layers, cancellationToken).ConfigureAwait(false);
        var before = _snapshot ??= RootfsSnapshot.Take(root, cancellationToken);
        var ignore = await change(root, cancellationToken).ConfigureAwait(false);
        var after = RootfsSnapshot.Take(root, cancellationToken);
        _snapshot = after;
        return new StepChanges(RootfsDiff.Compute(before, after, ignore), all => _applied = all.Count, () => { });
    }

    public async Task<string> ViewAsync(IReadOnlyList<Layer> layers, CancellationToken cancellationToken)
    {
        _root ??= workspace.NewDirectory("rootfs");
        for (; _applied < layers.Count; _applied++)
        {
            log.Info($"extracting {layers[_applied].Descriptor.Digest} ({layers[_applied].Descriptor.Size:N0} bytes) into the root of {description}");
            await LayerUnpacker.UnpackLayerAsync(layers[_applied], _root, $"layer {_applied + 1} of {description}", cancellationToken, allowDeviceNodes: true).ConfigureAwait(false);
            counters.LayersUnpacked++;
            _snapshot = null;
        }

        return _root;
    }
}

/// <summary>Work a build did, counted for its summary and for tests (which count work, never time it).</summary>
public sealed class BuildCounters
{
    public int StepsRun { get; set; }

    public int StepsCached { get; set; }

    /// <summary>Of the cached steps, those taken from a --cache-from cache.</summary>
    public int StepsImported { get; set; }

    /// <summary>Layers unpacked: into the snapshot store, or into a copied root.</summary>
    public int LayersUnpacked { get; set; }

    /// <summary>Overlay mounts made.</summary>
    public int Mounts { get; set; }

    private readonly List<Supply.StepProvenance> _steps = [];

    /// <summary>The file steps of the stages built, in Dockerfile order (for max provenance).</summary>
    public IReadOnlyList<Supply.StepProvenance> Steps
    {
        get
        {
            lock (_steps)
            {
                return [.. _steps.OrderBy(s => s.Line)];
            }
        }
    }

    public void AddStep(Supply.StepProvenance step)
    {
        lock (_steps)
        {
            _steps.Add(step);
        }
    }
}

