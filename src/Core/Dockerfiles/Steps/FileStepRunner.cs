using System.Diagnostics;
using System.Globalization;
using Sdk.Containers.Building;
using Sdk.Containers.Storage;
using Sdk.Containers.Layers;
using Sdk.Containers.Progress;

namespace Sdk.Containers.Dockerfiles;

/// <summary>A step that changes files, as its step type describes it.</summary>
/// <param name="Instruction">The Dockerfile instruction it comes from.</param>
/// <param name="CreatedBy">The history entry of the step.</param>
/// <param name="Shown">The step as the progress shows it: the instruction with its arguments expanded.</param>
/// <param name="KeyParts">The step's own inputs; with the stage's key they make the step's cache key.</param>
/// <param name="HistoryAdded">The step already added its history entry (WORKDIR): its layer attaches to it.</param>
/// <param name="Change">Changes the root; returns paths that only existed for the step and are not part of it.</param>
internal sealed record FileChange(DockerfileNode Instruction, string CreatedBy, string Shown, IEnumerable<string> KeyParts, bool HistoryAdded, Func<StepRoot, CancellationToken, Task<IReadOnlySet<string>?>> Change);

/// <summary>The root a file step changes, and the step's counter (for the lines its command writes).</summary>
internal sealed record StepRoot(string Path, string Counter);

/// <summary>
/// Runs file steps for every step type: a step whose key (the stage's state and the step's own inputs) was built
/// before takes its record from the step cache without touching any file; otherwise the stage's root is changed and
/// the difference written as a layer, and the record stored.
/// </summary>
internal sealed class FileStepRunner(BuildServices services, IBuildProgress progress, bool noCache)
{
    public async Task RunAsync(StageState stage, FileChange step, CancellationToken cancellationToken)
    {
        var counter = stage.BeginFileStep();
        var options = services.LayerOptions();
        var key = StepCache.Key(new[] { stage.Key, stage.Platform.ToString(), options.Compression.ToString(), options.Timestamp.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture) }.Concat(step.KeyParts));
        if (!noCache && services.Steps.TryGet(key) is { } record && Reuse(stage, step, record))
        {
            Record(stage, step, record);
            services.Export.Add(key, record);
            stage.Advance(key);
            services.Counters.StepsCached++;
            progress.Cached(counter, step.Shown);
            return;
        }

        // A step another machine built (--cache-from): its layer is fetched, and kept here for the next build.
        if (!noCache && services.Imported is { } imported && await imported.TryGetAsync(key, services.Log, cancellationToken).ConfigureAwait(false) is { } found && Reuse(stage, step, found))
        {
            await services.Steps.SetAsync(key, found, cancellationToken).ConfigureAwait(false);
            Record(stage, step, found);
            services.Export.Add(key, found);
            stage.Advance(key);
            services.Counters.StepsCached++;
            services.Counters.StepsImported++;
            progress.Cached(counter, step.Shown);
            return;
        }

        var started = Stopwatch.GetTimestamp();
        progress.Started(counter, step.Shown);
        try
        {
            await ChangeAsync(stage, step, key, counter, options, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // Whatever failed — the command, the layer, the cache record — the step is shown as failed.
            progress.Failed(counter);
            throw;
        }

        progress.Done(counter, Stopwatch.GetElapsedTime(started));
    }

    private async Task ChangeAsync(StageState stage, FileChange step, string key, string counter, LayerWriterOptions options, CancellationToken cancellationToken)
    {
        var changes = await stage.Root.ChangeAsync(stage.Layers, (root, ct) => step.Change(new StepRoot(root, counter), ct), cancellationToken).ConfigureAwait(false);
        StepRecord result;
        if (changes.Entries.Count == 0)
        {
            changes.Discard();
            if (!step.HistoryAdded)
            {
                stage.Image.AddEmptyHistory(step.CreatedBy, "buildkit.dockerfile.v0");
            }

            result = StepRecord.NoLayer;
        }
        else
        {
            var plan = LayerPlan.Create(changes.Entries, step.CreatedBy);
            var layer = await new LayerWriter(services.Store).WriteAsync(plan, options, cancellationToken).ConfigureAwait(false);
            stage.AddLayer(layer, step.CreatedBy, step.HistoryAdded);
            changes.Commit(stage.Layers);
            services.Log.Detail($"{counter} layer {layer.Descriptor.Digest}: {changes.Entries.Count} entries, {layer.Descriptor.Size:N0} bytes");
            result = StepRecord.For(layer);
        }

        await services.Steps.SetAsync(key, result, cancellationToken).ConfigureAwait(false);
        Record(stage, step, result);
        services.Export.Add(key, result);
        stage.Advance(key);
        services.Counters.StepsRun++;
    }

    private void Record(StageState stage, FileChange step, StepRecord record)
        => services.Counters.AddStep(new Supply.StepProvenance(stage.Label, step.Instruction.StartLine, step.Instruction.Original, record.DiffId));

    /// <summary>The cached record applied to the stage; false when its layer's blob is gone (the step runs again).</summary>
    private bool Reuse(StageState stage, FileChange step, StepRecord record)
    {
        if (record.Blob is null)
        {
            if (!step.HistoryAdded)
            {
                stage.Image.AddEmptyHistory(step.CreatedBy, "buildkit.dockerfile.v0");
            }

            return true;
        }

        if (record.ToLayer(services.Store) is not { } cached)
        {
            return false;
        }

        stage.AddLayer(cached, step.CreatedBy, step.HistoryAdded);
        return true;
    }
}
