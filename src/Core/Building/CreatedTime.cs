using Sdk.Containers.Digests;
using Sdk.Containers.Images;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Building;

/// <summary>
/// The creation time of an image built with no fixed time: now, except when nothing else about the image changed
/// since the last build; then it keeps that build's time, so a no-change rebuild yields the very same image.
/// </summary>
public static class CreatedTime
{
    /// <param name="unstamped">The image as built with a placeholder time, whose config identifies "nothing else changed".</param>
    public static async Task<Image> StampAsync(ImageBuilder builder, Image unstamped, BuildCache cache, CancellationToken cancellationToken)
    {
        var key = BuildCache.Key(CacheKinds.CreatedTimes, [Digest.Compute(unstamped.ConfigBytes).ToString()]);
        var created = cache.TryGet(CacheKinds.CreatedTimes, key, out var record) ? record.Created : DateTimeOffset.UtcNow;
        builder.Created = created;
        var image = builder.Build();
        await cache.SetAsync(CacheKinds.CreatedTimes, key, new CreatedRecord(created), cancellationToken).ConfigureAwait(false);
        return image;
    }
}
