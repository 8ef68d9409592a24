using System.Runtime.InteropServices;
using Sdk.Containers.Building;
using Sdk.Containers.Images;
using Sdk.Containers.Progress;
using Sdk.Containers.Registry;
using Sdk.Containers.Running;
using Sdk.Containers.Sources;
using Sdk.Containers.Storage;
using Sdk.Containers.Unpacking;

namespace Sdk.Containers.Dockerfiles;

/// <summary>
/// Builds a Dockerfile without a daemon, on the same layers and images as the publish path: each stage starts from
/// its base (an image, an earlier stage, or scratch), metadata instructions change the config, and RUN, COPY, ADD and
/// WORKDIR change a root file system whose difference becomes the next layer. Only the stages the target needs are
/// built, and a step whose inputs are unchanged takes its layer from the cache without touching any file.
/// </summary>
/// <remarks>
/// One builder may build several platforms of the same Dockerfile, one <see cref="BuildAsync"/> each: its --cache-to
/// export then holds the steps of all of them (a cache written per platform would keep only the last).
/// </remarks>
public sealed class DockerfileBuilder(ImageServices imageServices, IBuildProgress? progress = null)
{
    private readonly IBuildLog _log = imageServices.Log;
    private readonly Caches.StepCacheExport _export = new();
    private readonly List<Image> _built = [];

    public async Task<DockerfileBuildResult> BuildAsync(DockerfileBuildRequest request, CancellationToken cancellationToken)
    {
        var context = Path.GetFullPath(request.ContextDirectory);
        if (!Directory.Exists(context))
        {
            throw new ContainerException(ErrorCodes.NoBuildContext, $"The build context '{request.ContextDirectory}' does not exist; give the directory whose files COPY and ADD take.");
        }

        var dockerfile = Path.GetFullPath(request.DockerfilePath ?? Path.Combine(context, "Dockerfile"));
        if (!File.Exists(dockerfile))
        {
            throw new ContainerException(ErrorCodes.NoDockerfile, $"There is no Dockerfile at '{dockerfile}'; pass its path with -f.");
        }

        // Messages name the Dockerfile as the user knows it: relative to the context when it is inside it.
        var relative = Path.GetRelativePath(context, dockerfile);
        var name = relative.StartsWith("..", StringComparison.Ordinal) ? dockerfile : relative;
        var bytes = await File.ReadAllBytesAsync(dockerfile, cancellationToken).ConfigureAwait(false);
        var text = new StreamReader(new MemoryStream(bytes), System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: true).ReadToEnd();
        var ast = DockerfileParser.Parse(text, name);
        var host = HostPlatform();
        var target = request.Platform ?? host;
        var stages = BuildStages.Split(ast, request.BuildArguments, target, host, name);
        var targetIndex = stages.Count - 1;
        if (request.Target is { } wanted)
        {
            targetIndex = stages.FirstOrDefault(s => string.Equals(s.Name, wanted, StringComparison.OrdinalIgnoreCase))?.Index
                ?? throw new ContainerException(ErrorCodes.NoSuchStage, $"{name} has no stage named '{wanted}'; its stages are {string.Join(", ", stages.Select(s => s.Name ?? s.Index.ToString(System.Globalization.CultureInfo.InvariantCulture)))}.");
        }

        // Every instruction's flags and mounts are checked before anything is pulled or run.
        var errors = new DockerfileErrors(name, text.Split('\n'));
        InstructionChecks.CheckAll(stages, errors.Error);
        var inputs = new BuildInputs(request, ast, name, errors, stages, target, host, context, dockerfile);

        var store = imageServices.Store;
        DockerfileBuildResult result;
        using (var workspace = BuildWorkspace.Create(Path.Combine(store.Root, "builds"), _log.Info))
        {
            var snapshotter = ChooseSnapshotter(request, workspace, name);
            var imported = request.CacheFrom.Count > 0 && !request.NoCache
                ? await Caches.ImportedSteps.ReadAsync(request.CacheFrom, store, imageServices.Registries, _log, cancellationToken).ConfigureAwait(false)
                : null;
            var services = new BuildServices(_log, store, imageServices.Cache, workspace, snapshotter, request, name) { Imported = imported, Export = _export };
            var images = new BuildImages(inputs, services, new ImageLoader(store, imageServices.Registries));
            var graph = new StageGraph(inputs, services, images, progress ?? new PlainBuildProgress(_log));
            var stage = await graph.StageAsync(targetIndex, cancellationToken).ConfigureAwait(false);
            var builder = stage.Image;
            builder.Created = request.Created;
            if (request.Created is null)
            {
                await CreatedTime.StampAsync(builder, null, services.Cache, cancellationToken).ConfigureAwait(false);
            }

            ApplyAnnotations(builder, request.Annotations, name);
            ApplyBaseAnnotations(builder, images.Resolved);
            var image = builder.Build();
            var counters = services.Counters;
            counters.Mounts = workspace.Mounts;
            var fromCaches = counters.StepsImported > 0 ? $" ({counters.StepsImported} of them from --cache-from)" : string.Empty;
            _log.Info($"Built {(stages[targetIndex].Name is { } n ? $"stage {n}" : name)}: {image.Layers.Count} layers, {counters.StepsRun} steps run, {counters.StepsCached} from the cache{fromCaches}; image ID {image.ConfigDigest}");
            _log.Detail($"{counters.LayersUnpacked} layers unpacked, {counters.Mounts} overlay mounts ({snapshotter})");
            _built.Add(image);
            foreach (var to in request.CacheTo)
            {
                await _export.ExportAsync(to, _built, store, imageServices.Registries, _log, cancellationToken).ConfigureAwait(false);
            }

            result = new DockerfileBuildResult(image, counters.StepsRun, counters.StepsCached) { LayersUnpacked = counters.LayersUnpacked, Mounts = counters.Mounts, Snapshotter = snapshotter, StepsImported = counters.StepsImported, Steps = counters.Steps, Images = images.Resolved, DockerfileName = name, DockerfileDigest = Digests.Digest.Compute(bytes) };
        }

        // After the workspace is gone and this build's hold on the snapshot store with it.
        if (result.Snapshotter == Snapshotter.Overlayfs)
        {
            EvictSnapshots(store);
        }

        return result;
    }

    // As buildx: an OCI manifest names the base its layers start on, by digest, and by name when it came from a registry.
    private static void ApplyBaseAnnotations(ImageBuilder builder, IReadOnlyList<ResolvedImage> images)
    {
        if (builder.Format != ImageFormat.Oci || ResolvedImage.BaseOf(images, builder.DiffIds) is not { } baseImage)
        {
            return;
        }

        builder.SetAnnotation(ImageAnnotations.BaseDigest, baseImage.Digest.ToString());
        if (ImageSource.Parse(baseImage.Source) is { Transport: ImageTransport.Registry } source && References.ImageReference.TryParse(source.Location, out var reference))
        {
            builder.SetAnnotation(ImageAnnotations.BaseName, reference.WithDigest(null).ToString());
        }
    }

    private static void ApplyAnnotations(ImageBuilder builder, IReadOnlyDictionary<string, string> annotations, string dockerfile)
    {
        if (annotations.Count > 0 && builder.Format != ImageFormat.Oci)
        {
            throw new ContainerException(ErrorCodes.AnnotationsNeedOci, $"{dockerfile}: --annotation {annotations.Keys.First()}=… asks for manifest annotations, but the image is in Docker format, whose manifests have none; add --format oci.");
        }

        foreach (var (key, value) in annotations)
        {
            builder.SetAnnotation(key, value);
        }
    }

    /// <summary>
    /// Keeps the snapshot store within SDK_CONTAINERS_SNAPSHOT_LIMIT (bytes; default 20 GB), least recently used out
    /// first, when no other build is running (one might be using a snapshot as a lower directory).
    /// </summary>
    private void EvictSnapshots(BlobStore store)
    {
        var snapshots = SnapshotStore.ForCache(store);
        using var alone = snapshots.TryExclusive();
        if (alone is null)
        {
            return;
        }

        var limit = long.TryParse(Environment.GetEnvironmentVariable("SDK_CONTAINERS_SNAPSHOT_LIMIT"), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var bytes) ? bytes : 20L << 30;
        try
        {
            var (count, freed) = snapshots.Evict(limit);
            if (count > 0)
            {
                _log.Info($"Removed {count} least recently used snapshots ({freed / 1048576.0:F0} MB) to keep the snapshot store within {limit / 1048576.0:F0} MB");
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The build is done; a store it could not trim is trimmed by the next one.
            _log.Detail($"The snapshot store was not trimmed: {ex.Message}");
        }
    }

    /// <summary>
    /// overlayfs over the snapshot store when it can be mounted here; else the copied roots, said in one line.
    /// SDK_CONTAINERS_SNAPSHOTTER (or the request) chooses: overlayfs, native, or auto.
    /// </summary>
    private Snapshotter ChooseSnapshotter(DockerfileBuildRequest request, BuildWorkspace workspace, string file)
    {
        var asked = request.Snapshotter ?? Environment.GetEnvironmentVariable("SDK_CONTAINERS_SNAPSHOTTER") switch
        {
            null or "" or "auto" => (Snapshotter?)null,
            "overlayfs" or "overlay" => Snapshotter.Overlayfs,
            "native" => Snapshotter.Native,
            var other => throw new ContainerException(ErrorCodes.InvalidSnapshotter, $"SDK_CONTAINERS_SNAPSHOTTER={other} is not a snapshotter; use overlayfs, native or auto."),
        };
        if (asked == Snapshotter.Native)
        {
            return Snapshotter.Native;
        }

        var problem = Unpacking.Overlay.Probe(workspace.Root);
        if (problem is null)
        {
            return Snapshotter.Overlayfs;
        }

        if (asked == Snapshotter.Overlayfs)
        {
            throw new ContainerException(ErrorCodes.OverlayUnavailable, $"{file}: overlayfs cannot be mounted under {workspace.Root} ({problem}).");
        }

        _log.Info($"overlayfs cannot be mounted under {workspace.Root} ({problem}); steps run on copied roots instead, which unpacks every layer each build.");
        return Snapshotter.Native;
    }

    public static Platform HostPlatform() => Platform.FromRuntimeIdentifier(RuntimeInformation.OSArchitecture switch
    {
        Architecture.Arm64 => "linux-arm64",
        Architecture.Arm => "linux-arm",
        _ => "linux-x64",
    });
}
