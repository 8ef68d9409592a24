using Sdk.Containers.Building;
using Sdk.Containers.Images;
using Sdk.Containers.Layers;

namespace Sdk.Containers.Dockerfiles;

/// <summary>Where a stage is: its steps are applied one at a time, then it is done and others may read it.</summary>
internal enum StagePhase
{
    Stepping,
    Done,
}

/// <summary>
/// One stage's state as its steps move it on: the image so far, its layers (the base's first), the cache key of
/// everything its files depend on, and the root its file steps run on. Steps change it only through
/// <see cref="Advance"/> and <see cref="AddLayer"/>; once <see cref="Complete"/>d it is read-only.
/// </summary>
internal sealed class StageState
{
    internal const string DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    private readonly List<Layer> _layers;
    private readonly int _fileSteps;
    private int _step;

    public StageState(BuildStage stage, Platform platform, ImageFormat format, ImageBuilder image, IEnumerable<Layer> layers, string key, IStageRoot root, StageConfigurator config)
    {
        Stage = stage;
        Platform = platform;
        Format = format;
        Image = image;
        _layers = [.. layers];
        Key = key;
        Root = root;
        Config = config;
        _fileSteps = stage.Instructions.Count(i => i.Value is "run" or "copy" or "add" or "workdir");
    }

    public BuildStage Stage { get; }

    public string Label => Stage.Name ?? $"stage-{Stage.Index}";

    public Platform Platform { get; }

    public ImageFormat Format { get; }

    public ImageBuilder Image { get; }

    public StageConfigurator Config { get; }

    public IStageRoot Root { get; }

    public IReadOnlyList<Layer> Layers => _layers;

    /// <summary>Identifies everything the stage's files depend on so far.</summary>
    public string Key { get; private set; }

    public StagePhase Phase { get; private set; }

    /// <summary>The next file step's counter as BuildKit shows it: FROM is step 1, then each instruction that changes files.</summary>
    public string BeginFileStep()
    {
        EnsureStepping();
        _step++;
        return $"[{Label} {_step + 1}/{_fileSteps + 1}]";
    }

    /// <summary>A step is done: the stage's state is now the one <paramref name="key"/> names.</summary>
    public void Advance(string key)
    {
        EnsureStepping();
        Key = key;
    }

    public void AddLayer(Layer layer, string createdBy, bool historyAdded)
    {
        EnsureStepping();
        _layers.Add(layer);
        if (historyAdded)
        {
            Image.AttachLayerToLastHistory(layer);
        }
        else
        {
            Image.AddLayer(layer, createdBy, "buildkit.dockerfile.v0");
        }
    }

    public void Complete() => Phase = StagePhase.Done;

    /// <summary>The stage's files as they are now, to read from (COPY --from, RUN --mount from=).</summary>
    public Task<string> ViewAsync(CancellationToken cancellationToken) => Root.ViewAsync(_layers, cancellationToken);

    private void EnsureStepping()
    {
        if (Phase != StagePhase.Stepping)
        {
            throw new InvalidOperationException($"The stage {Label} is done; its steps cannot change it.");
        }
    }
}
