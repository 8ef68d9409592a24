using System.Globalization;
using Sdk.Containers.Building;
using Sdk.Containers.Digests;
using Sdk.Containers.Images;
using Sdk.Containers.IO;
using Sdk.Containers.Layers;
using Sdk.Containers.Storage;
using Sdk.Containers.Unpacking;

namespace Sdk.Containers.Dockerfiles;

/// <summary>
/// One stage being built: its image so far, the cache key of its state (what it was built from and every step since),
/// and, only once a step must really run, a root file system holding its layers.
/// </summary>
internal sealed partial class StageBuild
{
    internal const string DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    private readonly BuildSession _session;
    private readonly BuildStage _stage;
    private StageConfigurator _config = null!;
    private readonly IStageRoot _root;

    // The root a step is changing, while it runs.
    private string? _rootfs;
    private int _step;

    public StageBuild(BuildSession session, BuildStage stage)
    {
        _session = session;
        _stage = stage;
        _root = session.NewStageRoot(Label);
    }

    public ImageBuilder Image { get; private set; } = null!;

    /// <summary>Every layer of the stage, its base's first.</summary>
    public List<Layer> Layers { get; } = [];

    /// <summary>Identifies everything the stage's files depend on so far.</summary>
    public string Key { get; private set; } = string.Empty;

    public Platform Platform { get; private set; } = null!;

    public ImageFormat Format { get; private set; }

    public string Label => _stage.Name ?? $"stage-{_stage.Index}";

    private IBuildLog Log => _session.Log;

    public async Task BuildAsync(CancellationToken cancellationToken)
    {
        Platform = _stage.Platform is { } platform ? Images.Platform.Parse(platform) : _session.Target;
        IReadOnlyList<string>? triggers;
        if (_stage.BaseStage is int parentIndex)
        {
            var parent = await _session.StageAsync(parentIndex, cancellationToken).ConfigureAwait(false);
            var parentImage = parent.Image.Build();
            Format = _session.Request.Format ?? parent.Format;
            Image = new ImageBuilder(parentImage, Format);
            Layers.AddRange(parent.Layers);
            Key = BuildCache.Key(["stage", parent.Key]);
            triggers = parentImage.Config.Config?.OnBuild;
        }
        else if (_stage.Base.Equals("scratch", StringComparison.OrdinalIgnoreCase))
        {
            Format = _session.Request.Format ?? ImageFormat.Docker;
            Image = ImageBuilder.FromScratch(Platform, Format);

            // What BuildKit gives an image from scratch.
            Image.SetEnvironmentVariable("PATH", DefaultPath);
            Image.SetWorkingDirectory("/");
            Key = BuildCache.Key(["scratch", Platform.ToString()]);
            triggers = null;
        }
        else
        {
            var (baseImage, baseKey) = await _session.ImageAsync(_stage.Base, Platform, cancellationToken).ConfigureAwait(false);
            Format = _session.Request.Format ?? baseImage.Format;
            Image = new ImageBuilder(baseImage, Format);
            Layers.AddRange(baseImage.Layers);
            Key = BuildCache.Key(["image", baseKey]);
            triggers = baseImage.Config.Config?.OnBuild;
        }

        _config = new StageConfigurator(Image, _session.Ast.EscapeToken, _session.Request.BuildArguments, _stage.GlobalArguments, _session.File);
        if (triggers is { Count: > 0 })
        {
            // The base's ONBUILD triggers run first, as if written after FROM; the new image does not inherit them.
            Image.UpdateConfig(c => c with { OnBuild = null });
            foreach (var trigger in ParseTriggers(triggers))
            {
                await ExecuteAsync(trigger, cancellationToken).ConfigureAwait(false);
            }
        }

        foreach (var instruction in _stage.Instructions)
        {
            await ExecuteAsync(instruction, cancellationToken).ConfigureAwait(false);
        }
    }

    private IEnumerable<DockerfileNode> ParseTriggers(IReadOnlyList<string> triggers)
    {
        var parsed = DockerfileParser.Parse(string.Join('\n', triggers), $"{_session.File} (ONBUILD of {_stage.Base})");
        foreach (var trigger in parsed.Instructions)
        {
            if (trigger.Value is "from" or "onbuild" or "maintainer")
            {
                throw _session.Error(_stage.From, $"the base {_stage.Base} has the ONBUILD trigger '{trigger.Original}', and {trigger.Value.ToUpperInvariant()} is not allowed as a trigger.");
            }

            trigger.StartLine = _stage.From.StartLine;
            trigger.EndLine = _stage.From.EndLine;
            yield return trigger;
        }
    }

    private async Task ExecuteAsync(DockerfileNode instruction, CancellationToken cancellationToken)
    {
        switch (instruction.Value)
        {
            case "run":
                await RunAsync(instruction, cancellationToken).ConfigureAwait(false);
                break;
            case "copy" or "add":
                await CopyAsync(instruction, cancellationToken).ConfigureAwait(false);
                break;
            case "workdir":
                _config.Apply(instruction);
                await MakeWorkingDirectoryAsync(instruction, cancellationToken).ConfigureAwait(false);
                break;
            default:
                if (!_config.Apply(instruction))
                {
                    throw _session.Error(instruction, $"{instruction.Value.ToUpperInvariant()} is not supported here.");
                }

                break;
        }
    }

    private async Task MakeWorkingDirectoryAsync(DockerfileNode instruction, CancellationToken cancellationToken)
    {
        var directory = Image.Config.WorkingDir ?? "/";
        var user = Image.Config.User ?? string.Empty;
        await StepAsync(instruction, $"WORKDIR {directory}", $"WORKDIR {directory}", ["workdir", directory, user], historyAdded: true, ct =>
        {
            var components = RootfsPath.Components(directory, _session.File);
            if (components.Length > 0)
            {
                // Made as BuildKit makes it: 0755, owned by the stage's USER.
                var resolved = string.IsNullOrEmpty(user) ? null : ResolveUser(instruction, user);
                var owner = resolved is null ? (0, 0) : (resolved.Uid, resolved.Gid);
                var target = Path.Combine(FileCopier.MakeParents(_rootfs!, components, owner, _session.File), components[^1]);
                if (!Posix.TryLStat(target, out _))
                {
                    Directory.CreateDirectory(target);
                    FileCopier.SetMetadata(target, LayerEntry.DirectoryMode, owner);
                }
            }

            return Task.FromResult<IReadOnlySet<string>?>(null);
        }, cancellationToken).ConfigureAwait(false);
    }

    internal ResolvedUser ResolveUser(DockerfileNode instruction, string user)
        => UserDatabase.Read(_rootfs!).ResolveUser(user, problem => _session.Error(instruction, problem + "."));

    /// <summary>
    /// One step that changes files: taken from the cache when its key (the stage's state and the step's own inputs)
    /// was built before; otherwise the root is brought up to date, changed by <paramref name="change"/>, and the
    /// difference written as a layer.
    /// </summary>
    /// <param name="change">Changes the root; returns paths that only existed for the step and are not part of it.</param>
    /// <param name="shown">The step as the progress shows it: the instruction with its arguments expanded.</param>
    private async Task StepAsync(DockerfileNode instruction, string createdBy, string shown, IEnumerable<string> keyParts, bool historyAdded, Func<CancellationToken, Task<IReadOnlySet<string>?>> change, CancellationToken cancellationToken)
    {
        _step++;
        var options = _session.LayerOptions(Format);
        var key = BuildCache.Key(new[] { StepCache.KeyVersion, Key, Platform.ToString(), options.Compression.ToString(), options.Timestamp.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture) }.Concat(keyParts));
        var progress = Progress;
        if (!_session.Request.NoCache && _session.Steps.TryGet(key) is { } record)
        {
            if (record.Blob is null)
            {
                if (!historyAdded)
                {
                    Image.AddEmptyHistory(createdBy, "buildkit.dockerfile.v0");
                }

                Hit();
                return;
            }

            if (record.ToLayer(_session.Store, Format) is { } cached)
            {
                AddLayer(cached, createdBy, historyAdded);
                Hit();
                return;
            }
        }

        void Hit()
        {
            Key = key;
            _session.Counters.StepsCached++;
            Log.Info($"{progress} CACHED {shown}");
        }

        Log.Info($"{progress} {shown}");
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var changes = await _root.ChangeAsync(Layers, async (root, ct) =>
        {
            _rootfs = root;
            try
            {
                return await change(ct).ConfigureAwait(false);
            }
            finally
            {
                _rootfs = null;
            }
        }, cancellationToken).ConfigureAwait(false);
        var entries = changes.Entries;
        StepRecord result;
        if (entries.Count == 0)
        {
            changes.Discard();
            if (!historyAdded)
            {
                Image.AddEmptyHistory(createdBy, "buildkit.dockerfile.v0");
            }

            result = StepRecord.NoLayer;
        }
        else
        {
            var plan = LayerPlan.Create(entries, createdBy);
            var layer = await new LayerWriter(_session.Store).WriteAsync(plan, options, cancellationToken).ConfigureAwait(false);
            AddLayer(layer, createdBy, historyAdded);
            changes.Commit(Layers);
            Log.Detail($"{progress} layer {layer.Descriptor.Digest}: {entries.Count} entries, {layer.Descriptor.Size:N0} bytes");
            result = StepRecord.For(layer);
        }

        await _session.Steps.SetAsync(key, result, cancellationToken).ConfigureAwait(false);
        Key = key;
        _session.Counters.StepsRun++;
        Log.Info($"{progress} DONE {System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds:0.0}s");
    }

    /// <summary>The step counter as BuildKit shows it: FROM is step 1, then each instruction that changes files.</summary>
    private string Progress => $"[{Label} {_step + 1}/{_stage.Instructions.Count(i => i.Value is "run" or "copy" or "add" or "workdir") + 1}]";

    private void AddLayer(Layer layer, string createdBy, bool historyAdded)
    {
        Layers.Add(layer);
        if (historyAdded)
        {
            Image.AttachLayerToLastHistory(layer);
        }
        else
        {
            Image.AddLayer(layer, createdBy, "buildkit.dockerfile.v0");
        }
    }

    /// <summary>The stage's files as they are now, to read from (COPY --from, RUN --mount from=).</summary>
    public Task<string> ViewAsync(CancellationToken cancellationToken) => _root.ViewAsync(Layers, cancellationToken);

    private string Expand(DockerfileNode instruction, string word, IReadOnlyDictionary<string, string>? scope = null)
    {
        try
        {
            return new ShellLexer(_session.Ast.EscapeToken).ProcessWord(word, scope ?? _config.ExpansionScope());
        }
        catch (ShellExpansionException ex)
        {
            throw _session.Error(instruction, ex.Message, word);
        }
    }

    private string Where(DockerfileNode instruction) => $"{_session.File}:{instruction.StartLine}";

    private List<(string Name, string Value)> Flags(DockerfileNode instruction, string[] allowed)
        => InstructionChecks.Flags(instruction, allowed, (problem, near) => _session.Error(instruction, problem, near));
}
