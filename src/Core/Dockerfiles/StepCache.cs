using Sdk.Containers.Digests;
using Sdk.Containers.Images;
using Sdk.Containers.Layers;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Dockerfiles;

/// <summary>
/// The step cache of Dockerfile builds over the build cache. A record naming a blob the store no longer has, or one
/// that does not parse, is a miss: the step runs again.
/// </summary>
internal sealed class StepCache(BuildCache cache)
{
    public static string Key(IEnumerable<string> parts) => BuildCache.Key(CacheKinds.DockerfileSteps, parts);

    public StepRecord? TryGet(string key) => cache.TryGet(CacheKinds.DockerfileSteps, key, out var record) ? record : null;

    public Task SetAsync(string key, StepRecord record, CancellationToken cancellationToken)
        => cache.SetAsync(CacheKinds.DockerfileSteps, key, record, cancellationToken);
}
