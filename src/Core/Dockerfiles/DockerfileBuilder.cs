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

        var store = BlobStore.CreateDefault(request.CacheDirectory);
        using var registries = new RegistrySession(new RegistryOptions { InsecureRegistries = request.InsecureRegistries }, log);
        var work = Directory.CreateTempSubdirectory("sdkc-build-").FullName;
        try
        {
            var session = new BuildSession(log, request, store, registries, ast, text.Split('\n'), name, stages, target, host, context, dockerfile, work);
            var stage = await session.StageAsync(targetIndex, cancellationToken).ConfigureAwait(false);
            var builder = stage.Image;
            builder.Created = request.Created;
            var image = builder.Build();
            if (request.Created is null)
            {
                image = await CreatedTime.StampAsync(builder, image, new BuildCache(store), cancellationToken).ConfigureAwait(false);
            }

            log.Info($"Built {(stages[targetIndex].Name is { } n ? $"stage {n}" : name)}: {image.Layers.Count} layers, {session.StepsRun} steps run, {session.StepsCached} from the cache; image ID {image.ConfigDigest}");
            return new DockerfileBuildResult(image, session.StepsRun, session.StepsCached);
        }
        finally
        {
            DeleteTree(work);
        }
    }

    public static Platform HostPlatform() => Platform.FromRuntimeIdentifier(RuntimeInformation.OSArchitecture switch
    {
        Architecture.Arm64 => "linux-arm64",
        Architecture.Arm => "linux-arm",
        _ => "linux-x64",
    });

    private static void DeleteTree(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
            // A mount left behind by a killed runtime; the directory is in the temp folder and harmless.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
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
    string work)
{
    // Each stage, image and unpacked image is made once per build, however many steps ask for it.
    private readonly ConcurrentDictionary<int, Lazy<Task<StageBuild>>> _stages = new();
    private readonly ConcurrentDictionary<string, Lazy<Task<(Image Image, string Key)>>> _images = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<SourceTree>>> _imageTrees = new(StringComparer.Ordinal);
    private OciRuntime? _runtime;
    private readonly ImageLoader _loader = new(store, registries);
    private SourceTree? _context;

    public IBuildLog Log => log;

    public DockerfileBuildRequest Request => request;

    public BlobStore Store => store;

    public BuildCache Cache { get; } = new(store);

    public DockerfileAst Ast => ast;

    public string File => file;

    public IReadOnlyList<BuildStage> Stages => stages;

    public Platform Target => target;

    public Platform Host => host;

    public string Work => work;

    public int StepsRun { get; set; }

    public int StepsCached { get; set; }

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
        var root = Directory.CreateDirectory(Path.Combine(work, "image-" + Guid.NewGuid().ToString("N")[..12])).FullName;
        foreach (var (layer, i) in image.Layers.Select((l, i) => (l, i)))
        {
            await LayerUnpacker.UnpackLayerAsync(layer, root, $"layer {i + 1} of {name}", cancellationToken).ConfigureAwait(false);
        }

        return new SourceTree(root, DockerIgnore.Empty, $"the image {name}", isContext: false);
    }

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

    public LayerWriterOptions LayerOptions(ImageFormat format) => new()
    {
        Format = format,
        Timestamp = request.LayerTimestamp,
        Compression = request.Compression,
    };
}
