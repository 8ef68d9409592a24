using Sdk.Containers.References;

namespace Sdk.Containers.Targets;

/// <summary>Sends one artifact to each of its targets in turn; every host (MSBuild tasks, CLI) delivers through this.</summary>
public static class ImageDelivery
{
    public static async Task<IReadOnlyList<TargetResult>> SendAsync(ImageArtifact artifact, IReadOnlyList<ImageReference> names, IReadOnlyList<IImageTarget> targets, IBuildLog log, CancellationToken cancellationToken)
    {
        if (artifact.Index is { } index)
        {
            log.Info($"Index {index.Digest} for {artifact.Platforms}");
        }

        var results = new List<TargetResult>(targets.Count);
        foreach (var target in targets)
        {
            results.Add(await target.WriteAsync(artifact, names, cancellationToken).ConfigureAwait(false));
        }

        return results;
    }
}
