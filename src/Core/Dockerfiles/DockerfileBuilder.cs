using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Sdk.Containers.Building;
using Sdk.Containers.Images;
using Sdk.Containers.Layers;
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
public sealed class DockerfileBuilder(IBuildLog log)
{
    public async Task<DockerfileBuildResult> BuildAsync(DockerfileBuildRequest request, CancellationToken cancellationToken)
    {
        var context = Path.GetFullPath(request.ContextDirectory);
        if (!Directory.Exists(context))
        {
            throw new ContainerException("CONTAINER3002", $"The build context '{request.ContextDirectory}' does not exist; give the directory whose files COPY and ADD take.");
        }

        var dockerfile = Path.GetFullPath(request.DockerfilePath ?? Path.Combine(context, "Dockerfile"));
        if (!File.Exists(dockerfile))
        {
            throw new ContainerException("CONTAINER3003", $"There is no Dockerfile at '{dockerfile}'; pass its path with -f.");
        }

        // Messages name the Dockerfile as the user knows it: relative to the context when it is inside it.
        var relative = Path.GetRelativePath(context, dockerfile);
        var name = relative.StartsWith("..", StringComparison.Ordinal) ? dockerfile : relative;
        var text = await File.ReadAllTextAsync(dockerfile, cancellationToken).ConfigureAwait(false);
        var ast = DockerfileParser.Parse(text, name);
        var host = HostPlatform();
        var target = request.Platform ?? host;
        var stages = BuildStages.Split(ast, request.BuildArguments, target, host, name);
        var targetIndex = stages.Count - 1;
        if (request.Target is { } wanted)
        {
            targetIndex = stages.FirstOrDefault(s => string.Equals(s.Name, wanted, StringComparison.OrdinalIgnoreCase))?.Index
                ?? throw new ContainerException("CONTAINER3004", $"{name} has no stage named '{wanted}'; its stages are {string.Join(", ", stages.Select(s => s.Name ?? s.Index.ToString(System.Globalization.CultureInfo.InvariantCulture)))}.");
        }

        // Every instruction's flags and mounts are checked before anything is pulled or run.
        var errors = new DockerfileErrors(name, text.Split('\n'));
        InstructionChecks.CheckAll(stages, errors.Error);

        var store = BlobStore.CreateDefault(request.CacheDirectory);
        using var registries = new RegistrySession(new RegistryOptions { InsecureRegistries = request.InsecureRegistries }, log);
        DockerfileBuildResult result;
        using (var workspace = BuildWorkspace.Create(Path.Combine(store.Root, "builds"), log.Info))
        {
            var snapshotter = ChooseSnapshotter(request, workspace, name);
            var session = new BuildSession(log, request, store, registries, ast, text.Split('\n'), name, stages, target, host, context, dockerfile, workspace, snapshotter);
            var stage = await session.StageAsync(targetIndex, cancellationToken).ConfigureAwait(false);
            var builder = stage.Image;
            builder.Created = request.Created;
            var image = builder.Build();
            if (request.Created is null)
            {
                image = await CreatedTime.StampAsync(builder, image, new BuildCache(store), cancellationToken).ConfigureAwait(false);
            }

            var counters = session.Counters;
            counters.Mounts = workspace.Mounts;
            log.Info($"Built {(stages[targetIndex].Name is { } n ? $"stage {n}" : name)}: {image.Layers.Count} layers, {counters.StepsRun} steps run, {counters.StepsCached} from the cache; image ID {image.ConfigDigest}");
            log.Detail($"{counters.LayersUnpacked} layers unpacked, {counters.Mounts} overlay mounts ({snapshotter})");
            result = new DockerfileBuildResult(image, counters.StepsRun, counters.StepsCached) { LayersUnpacked = counters.LayersUnpacked, Mounts = counters.Mounts, Snapshotter = snapshotter };
        }

        // After the workspace is gone and this build's hold on the snapshot store with it.
        if (result.Snapshotter == Snapshotter.Overlayfs)
        {
            EvictSnapshots(store);
        }

        return result;
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
                log.Info($"Removed {count} least recently used snapshots ({freed / 1048576.0:F0} MB) to keep the snapshot store within {limit / 1048576.0:F0} MB");
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The build is done; a store it could not trim is trimmed by the next one.
            log.Detail($"The snapshot store was not trimmed: {ex.Message}");
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
            var other => throw new ContainerException("CONTAINER3024", $"SDK_CONTAINERS_SNAPSHOTTER={other} is not a snapshotter; use overlayfs, native or auto."),
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
            throw new ContainerException("CONTAINER3023", $"{file}: overlayfs cannot be mounted under {workspace.Root} ({problem}).");
        }

        log.Info($"overlayfs cannot be mounted under {workspace.Root} ({problem}); steps run on copied roots instead, which unpacks every layer each build.");
        return Snapshotter.Native;
    }

    public static Platform HostPlatform() => Platform.FromRuntimeIdentifier(RuntimeInformation.OSArchitecture switch
    {
        Architecture.Arm64 => "linux-arm64",
        Architecture.Arm => "linux-arm",
        _ => "linux-x64",
    });
}

/// <summary>What one build shares between its stages: inputs, caches, loaded images and the stages done so far.</summary>
internal sealed class BuildSession(
    IBuildLog log,
    DockerfileBuildRequest request,
    BlobStore store,
    RegistrySession registries,
    DockerfileAst ast,
    string[] lines,
    string file,
    IReadOnlyList<BuildStage> stages,
    Platform target,
    Platform host,
    string contextDirectory,
    string dockerfile,
    BuildWorkspace workspace,
    Snapshotter snapshotter)
{
    // Each stage, image and unpacked image is made once per build, however many steps ask for it.
    private readonly ConcurrentDictionary<int, Lazy<Task<StageBuild>>> _stages = new();
    private readonly ConcurrentDictionary<string, Lazy<Task<(Image Image, string Key)>>> _images = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<SourceTree>>> _imageTrees = new(StringComparer.Ordinal);
    private readonly DockerfileErrors _errors = new(file, lines);
    private OverlayStageRoots? _overlay;
    private StepCache? _steps;
    private OciRuntime? _runtime;
    private readonly ImageLoader _loader = new(store, registries);
    private SourceTree? _context;

    public IBuildLog Log => log;

    public DockerfileBuildRequest Request => request;

    public BlobStore Store => store;

    public BuildCache Cache { get; } = new(store);

    public StepCache Steps => _steps ??= new StepCache(Cache);

    public DockerfileAst Ast => ast;

    public string File => file;

    public IReadOnlyList<BuildStage> Stages => stages;

    public Platform Target => target;

    public Platform Host => host;

    /// <summary>Scratch space of this build (scripts, downloads, copies for writable binds).</summary>
    public string Work => workspace.Root;

    public BuildWorkspace Workspace => workspace;

    public BuildCounters Counters { get; } = new();

    /// <summary>Where a stage's steps run: all stages share the overlay roots; copied roots are one per stage.</summary>
    public IStageRoot NewStageRoot(string description) => snapshotter == Snapshotter.Overlayfs
        ? _overlay ??= new OverlayStageRoots(workspace.ShareSnapshots(SnapshotStore.ForCache(store)), workspace, Counters, log, file)
        : new CopiedStageRoot(workspace, Counters, log, description);

    public SourceTree Context => _context ??= new SourceTree(contextDirectory, DockerIgnore.ForBuild(contextDirectory, dockerfile), "the build context", isContext: true);

    public string ContextDirectory => contextDirectory;

    public Task<StageBuild> StageAsync(int index, CancellationToken cancellationToken)
        => _stages.GetOrAdd(index, i => new Lazy<Task<StageBuild>>(() => BuildStageAsync(i, cancellationToken))).Value;

    /// <summary>The OCI runtime, found when the first RUN needs it.</summary>
    public OciRuntime Runtime(string where) => _runtime ??= OciRuntime.Find(where);

    private async Task<StageBuild> BuildStageAsync(int index, CancellationToken cancellationToken)
    {
        var stage = new StageBuild(this, stages[index]);
        await stage.BuildAsync(cancellationToken).ConfigureAwait(false);
        return stage;
    }

    /// <summary>A stage by name or index, as COPY --from and RUN --mount from= name it; null when it is no stage.</summary>
    public int? FindStage(string name, int before)
    {
        if (int.TryParse(name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number))
        {
            return number < before ? number : null;
        }

        return stages.Take(before).FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase))?.Index;
    }

    /// <summary>An image named in FROM or --from: a named context, or a reference (registry, or oci:/docker-archive: paths).</summary>
    public Task<(Image Image, string Key)> ImageAsync(string name, Platform platform, CancellationToken cancellationToken)
        => _images.GetOrAdd($"{name}|{platform}", _ => new Lazy<Task<(Image, string)>>(() => LoadAsync(name, platform, cancellationToken))).Value;

    private async Task<(Image Image, string Key)> LoadAsync(string name, Platform platform, CancellationToken cancellationToken)
    {
        var source = NamedSource(name) ?? ImageSource.Parse(name);
        var loaded = await _loader.LoadAsync(source, platform, cancellationToken).ConfigureAwait(false);
        log.Detail($"[{name}] {source}: {loaded.Image.Layers.Count} layers, {loaded.Image.ManifestDigest}");
        return (loaded.Image, loaded.Image.ManifestDigest.ToString());
    }

    private ImageSource? NamedSource(string name)
    {
        if (!request.NamedContexts.TryGetValue(name, out var value))
        {
            return null;
        }

        if (value.StartsWith("docker-image://", StringComparison.Ordinal))
        {
            return ImageSource.Parse(value["docker-image://".Length..]);
        }

        if (value.StartsWith("oci-layout://", StringComparison.Ordinal))
        {
            return ImageSource.Parse("oci:" + value["oci-layout://".Length..]);
        }

        if (value.StartsWith("docker-archive://", StringComparison.Ordinal))
        {
            return ImageSource.Parse("docker-archive:" + value["docker-archive://".Length..]);
        }

        return null;
    }

    /// <summary>A named context that is a local directory, for COPY --from.</summary>
    public SourceTree? NamedDirectory(string name)
        => request.NamedContexts.TryGetValue(name, out var value) && Directory.Exists(value)
            ? new SourceTree(Path.GetFullPath(value), DockerIgnore.Empty, $"the context '{name}'", isContext: true)
            : null;

    /// <summary>The files of an image, for COPY --from=image: its layers unpacked once per build.</summary>
    public Task<SourceTree> ImageTreeAsync(string name, Platform platform, CancellationToken cancellationToken)
        => _imageTrees.GetOrAdd($"{name}|{platform}", _ => new Lazy<Task<SourceTree>>(() => UnpackImageAsync(name, platform, cancellationToken))).Value;

    private async Task<SourceTree> UnpackImageAsync(string name, Platform platform, CancellationToken cancellationToken)
    {
        var (image, _) = await ImageAsync(name, platform, cancellationToken).ConfigureAwait(false);
        var root = await NewStageRoot(name).ViewAsync(image.Layers, cancellationToken).ConfigureAwait(false);
        return new SourceTree(root, DockerIgnore.Empty, $"the image {name}", isContext: false);
    }

    /// <summary>A problem with an instruction: file, line, column (of <paramref name="near"/> when given) and what to do.</summary>
    public DockerfileSyntaxException Error(DockerfileNode instruction, string problem, string? near = null) => _errors.Error(instruction, problem, near);

    public LayerWriterOptions LayerOptions(ImageFormat format) => new()
    {
        Format = format,
        Timestamp = request.LayerTimestamp,
        Compression = request.Compression,
    };
}

/// <summary>Errors that point into the Dockerfile: file, line and column, and what to do.</summary>
internal sealed class DockerfileErrors(string file, string[] lines)
{
    /// <summary>A problem with an instruction: file, line, column (of <paramref name="near"/> when given) and what to do.</summary>
    public DockerfileSyntaxException Error(DockerfileNode instruction, string problem, string? near = null)
    {
        var column = 0;
        if (near is not null && instruction.StartLine > 0 && instruction.StartLine <= lines.Length)
        {
            for (var line = instruction.StartLine; line <= Math.Min(instruction.EndLine, lines.Length); line++)
            {
                var at = lines[line - 1].IndexOf(near, StringComparison.Ordinal);
                if (at >= 0)
                {
                    return new DockerfileSyntaxException(file, line, line, problem, at + 1);
                }
            }
        }

        if (instruction.StartLine > 0 && instruction.StartLine <= lines.Length)
        {
            column = lines[instruction.StartLine - 1].Length - lines[instruction.StartLine - 1].TrimStart().Length + 1;
        }

        return new DockerfileSyntaxException(file, instruction.StartLine, instruction.EndLine, problem, column);
    }
}
