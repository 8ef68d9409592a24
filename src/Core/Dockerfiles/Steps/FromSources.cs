namespace Sdk.Containers.Dockerfiles;

/// <summary>A tree of files that --from names, made only when a step runs, and the key of what it holds.</summary>
internal sealed record FromTree(Func<Task<SourceTree>> Open, string Key);

/// <summary>What COPY --from and RUN --mount from= name: an earlier stage, a named context, or an image (which must
/// be written as a reference).</summary>
internal sealed class FromSources(BuildInputs inputs, StageGraph stages, BuildImages images)
{
    public async Task<FromTree> ResolveAsync(StageState stage, DockerfileNode instruction, string from, CancellationToken cancellationToken)
    {
        if (inputs.FindStage(from, stage.Stage.Index) is int index)
        {
            var other = await stages.StageAsync(index, cancellationToken).ConfigureAwait(false);
            return new FromTree(async () => new SourceTree(await other.ViewAsync(cancellationToken).ConfigureAwait(false), DockerIgnore.Empty, $"stage {from}", isContext: false), "stage:" + other.Key);
        }

        if (inputs.NamedDirectory(from) is { } directory)
        {
            return new FromTree(() => Task.FromResult(directory), "dir:" + directory.ContentKey(directory.Walk(string.Empty)));
        }

        var isReference = from.IndexOfAny(['/', ':', '@', '.']) >= 0 || inputs.Request.NamedContexts.ContainsKey(from);
        if (!isReference)
        {
            var names = inputs.Stages.Take(stage.Stage.Index).Select(s => s.Name).OfType<string>().ToArray();
            throw inputs.Error(instruction, $"--from={from} names no earlier stage ({(names.Length == 0 ? "there are none before this one" : "the stages before this one are " + string.Join(", ", names))}). Name a stage defined above with FROM … AS {from}, or, to copy from an image, write its full reference with a tag (such as docker.io/library/{from}:latest).", "--from");
        }

        var platform = stage.Platform;
        var (_, key) = await images.ImageAsync(from, platform, cancellationToken).ConfigureAwait(false);
        return new FromTree(() => images.TreeAsync(from, platform, cancellationToken), "image:" + key);
    }
}
