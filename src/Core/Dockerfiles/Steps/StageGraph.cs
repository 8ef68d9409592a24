using System.Collections.Concurrent;
using Sdk.Containers.Building;
using Sdk.Containers.Storage;
using Sdk.Containers.Images;
using Sdk.Containers.Layers;
using Sdk.Containers.Progress;

namespace Sdk.Containers.Dockerfiles;

/// <summary>One instruction's effect on a stage.</summary>
internal interface IStep
{
    Task ApplyAsync(StageState stage, DockerfileNode instruction, CancellationToken cancellationToken);
}

/// <summary>
/// The build's stages, each built at most once when the target (or a COPY --from, a RUN --mount from=, a FROM of a
/// stage) first needs it: its state starts from its base (an image, an earlier stage, or scratch), the base's
/// ONBUILD triggers run, then each instruction is applied by its step type, and the stage is done.
/// </summary>
internal sealed class StageGraph
{
    private readonly ConcurrentDictionary<int, Lazy<Task<StageState>>> _stages = new();
    private readonly BuildInputs _inputs;
    private readonly BuildServices _services;
    private readonly BuildImages _images;
    private readonly IStep _metadata;
    private readonly IStep _workdir;
    private readonly IStep _copy;
    private readonly IStep _run;

    public StageGraph(BuildInputs inputs, BuildServices services, BuildImages images, IBuildProgress progress)
    {
        _inputs = inputs;
        _services = services;
        _images = images;
        var runner = new FileStepRunner(services, progress, inputs.Request.NoCache);
        var sources = new FromSources(inputs, this, images);
        _metadata = new MetadataStep(inputs);
        _workdir = new WorkdirStep(inputs, runner);
        _copy = new CopyStep(inputs, services, sources, runner);
        _run = new RunStep(inputs, services, sources, runner, progress);
    }

    public Task<StageState> StageAsync(int index, CancellationToken cancellationToken)
        => _stages.GetOrAdd(index, i => new Lazy<Task<StageState>>(() => BuildAsync(_inputs.Stages[i], cancellationToken))).Value;

    private async Task<StageState> BuildAsync(BuildStage stage, CancellationToken cancellationToken)
    {
        var (state, triggers) = await StartAsync(stage, cancellationToken).ConfigureAwait(false);
        if (triggers is { Count: > 0 })
        {
            // The base's ONBUILD triggers run first, as if written after FROM; the new image does not inherit them.
            state.Image.UpdateConfig(c => c with { OnBuild = null });
            foreach (var trigger in ParseTriggers(stage, triggers))
            {
                await StepFor(trigger).ApplyAsync(state, trigger, cancellationToken).ConfigureAwait(false);
            }
        }

        foreach (var instruction in stage.Instructions)
        {
            await StepFor(instruction).ApplyAsync(state, instruction, cancellationToken).ConfigureAwait(false);
        }

        state.Complete();
        return state;
    }

    private IStep StepFor(DockerfileNode instruction) => instruction.Value switch
    {
        "run" => _run,
        "copy" or "add" => _copy,
        "workdir" => _workdir,
        _ => _metadata,
    };

    /// <summary>The stage's state at its FROM, and the ONBUILD triggers of its base.</summary>
    private async Task<(StageState State, IReadOnlyList<string>? Triggers)> StartAsync(BuildStage stage, CancellationToken cancellationToken)
    {
        var platform = stage.Platform is { } text ? Platform.Parse(text) : _inputs.Target;
        var requested = _inputs.Request.Format;
        ImageBuilder image;
        ImageFormat format;
        IEnumerable<Layer> layers;
        string key;
        IReadOnlyList<string>? triggers;
        if (stage.BaseStage is int parentIndex)
        {
            var parent = await StageAsync(parentIndex, cancellationToken).ConfigureAwait(false);
            var parentImage = parent.Image.Build();
            format = requested ?? parent.Format;
            image = new ImageBuilder(parentImage, format);
            layers = parent.Layers;
            key = BuildCache.Key(["stage", parent.Key]);
            triggers = parentImage.Config.Config?.OnBuild;
        }
        else if (stage.Base.Equals("scratch", StringComparison.OrdinalIgnoreCase))
        {
            format = requested ?? ImageFormat.Docker;
            image = ImageBuilder.FromScratch(platform, format);

            // What BuildKit gives an image from scratch.
            image.SetEnvironmentVariable("PATH", StageState.DefaultPath);
            image.SetWorkingDirectory("/");
            layers = [];
            key = BuildCache.Key(["scratch", platform.ToString()]);
            triggers = null;
        }
        else
        {
            var (baseImage, baseKey) = await _images.ImageAsync(stage.Base, platform, cancellationToken).ConfigureAwait(false);
            format = requested ?? baseImage.Format;
            image = new ImageBuilder(baseImage, format);
            layers = baseImage.Layers;
            key = BuildCache.Key(["image", baseKey]);
            triggers = baseImage.Config.Config?.OnBuild;
        }

        var label = stage.Name ?? $"stage-{stage.Index}";
        var config = new StageConfigurator(image, _inputs.Ast.EscapeToken, _inputs.Request.BuildArguments, stage.GlobalArguments, _inputs.File);
        return (new StageState(stage, platform, format, image, layers, key, _services.NewStageRoot(label), config), triggers);
    }

    private IEnumerable<DockerfileNode> ParseTriggers(BuildStage stage, IReadOnlyList<string> triggers)
    {
        var parsed = DockerfileParser.Parse(string.Join('\n', triggers), $"{_inputs.File} (ONBUILD of {stage.Base})");
        foreach (var trigger in parsed.Instructions)
        {
            if (trigger.Value is "from" or "onbuild" or "maintainer")
            {
                throw _inputs.Error(stage.From, $"the base {stage.Base} has the ONBUILD trigger '{trigger.Original}', and {trigger.Value.ToUpperInvariant()} is not allowed as a trigger.");
            }

            trigger.StartLine = stage.From.StartLine;
            trigger.EndLine = stage.From.EndLine;
            yield return trigger;
        }
    }
}
