using Sdk.Containers.Digests;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Building;

/// <summary>
/// The creation time of an image built with no fixed time: now, except when nothing else about the image changed
/// since the last build; then it keeps that build's time, so a no-change rebuild yields the very same image.
/// </summary>
public static class CreatedTime
{
    /// <summary>Sets the builder's time, once, before the image is built.</summary>
    /// <param name="placeholder">The time the config is compared at ("nothing else changed" means equal bytes at it).</param>
    public static async Task StampAsync(ImageBuilder builder, DateTimeOffset? placeholder, BuildCache cache, CancellationToken cancellationToken)
    {
        var key = BuildCache.Key(CacheKinds.CreatedTimes, [Digest.Compute(builder.ConfigBytesAt(placeholder)).ToString()]);
        var created = cache.TryGet(CacheKinds.CreatedTimes, key, out var record) ? record.Created : DateTimeOffset.UtcNow;
        builder.Created = created;
        await cache.SetAsync(CacheKinds.CreatedTimes, key, new CreatedRecord(created), cancellationToken).ConfigureAwait(false);
    }
}
