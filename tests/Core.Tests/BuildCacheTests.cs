using Sdk.Containers.Digests;
using Sdk.Containers.Images;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Tests;

/// <summary>The build cache's typed records: they round-trip, and a record is a hit only while its blobs are stored.</summary>
public class BuildCacheTests
{
    private static readonly Digest Missing = Digest.Compute("not in the store"u8);

    [Fact]
    public async Task EveryKindRoundTrips()
    {
        using var work = new TempDirectory();
        var store = new BlobStore(work.Combine("cache"));
        var cache = new BuildCache(store);
        var blob = await store.ImportAsync(new MemoryStream("layer"u8.ToArray()), null, "test", CancellationToken.None);
        var diffId = Digest.Compute("tar"u8);

        await cache.SetAsync(CacheKinds.Layers, "k", new LayerRecord(blob.Digest, diffId, LayerCompression.Zstd), CancellationToken.None);
        Assert.True(cache.TryGet(CacheKinds.Layers, "k", out var layer));
        Assert.Equal(new LayerRecord(blob.Digest, diffId, LayerCompression.Zstd), layer);

        await cache.SetAsync(CacheKinds.DockerfileSteps, "none", StepRecord.NoLayer, CancellationToken.None);
        Assert.True(cache.TryGet(CacheKinds.DockerfileSteps, "none", out var none));
        Assert.Null(none.Blob);

        var step = new StepRecord(blob.Digest, diffId, LayerCompression.Gzip);
        await cache.SetAsync(CacheKinds.DockerfileSteps, "layer", step, CancellationToken.None);
        Assert.True(cache.TryGet(CacheKinds.DockerfileSteps, "layer", out var stepBack));
        Assert.Equal(step, stepBack);

        var created = new DateTimeOffset(2026, 12, 2, 1, 2, 3, TimeSpan.Zero);
        await cache.SetAsync(CacheKinds.CreatedTimes, "c", new CreatedRecord(created), CancellationToken.None);
        Assert.True(cache.TryGet(CacheKinds.CreatedTimes, "c", out var createdBack));
        Assert.Equal(created, createdBack.Created);

        var output = new OutputRecord(diffId, ["app:1", "localhost:5000/app:2"], 1, "stamp");
        await cache.SetAsync(CacheKinds.Outputs, "o", output, CancellationToken.None);
        Assert.True(cache.TryGet(CacheKinds.Outputs, "o", out var outputBack));
        Assert.Equal(output.Names, outputBack.Names);
        Assert.Equal(output.Digest, outputBack.Digest);

        var archive = new ArchiveRecord(new Dictionary<string, Digest> { ["manifest.json"] = blob.Digest }, new Dictionary<string, string> { ["a/layer.tar"] = "b/layer.tar" });
        await cache.SetAsync(CacheKinds.Archives, "a", archive, CancellationToken.None);
        Assert.True(cache.TryGet(CacheKinds.Archives, "a", out var archiveBack));
        Assert.Equal(blob.Digest, archiveBack.Files["manifest.json"]);
        Assert.Equal("b/layer.tar", archiveBack.Links["a/layer.tar"]);
    }

    [Fact]
    public async Task ARecordWhoseBlobIsGoneOrThatIsDamagedIsAMiss()
    {
        using var work = new TempDirectory();
        var store = new BlobStore(work.Combine("cache"));
        var cache = new BuildCache(store);

        // The kind says which blobs must be stored: the caller never checks.
        await cache.SetAsync(CacheKinds.Layers, "gone", new LayerRecord(Missing, Missing, LayerCompression.Gzip), CancellationToken.None);
        Assert.False(cache.TryGet(CacheKinds.Layers, "gone", out _));
        await cache.SetAsync(CacheKinds.DockerfileSteps, "gone", new StepRecord(Missing, Missing, LayerCompression.Gzip), CancellationToken.None);
        Assert.False(cache.TryGet(CacheKinds.DockerfileSteps, "gone", out _));
        await cache.SetAsync(CacheKinds.Archives, "gone", new ArchiveRecord(new Dictionary<string, Digest> { ["x"] = Missing }, new Dictionary<string, string>()), CancellationToken.None);
        Assert.False(cache.TryGet(CacheKinds.Archives, "gone", out _));

        await cache.SetAsync(CacheKinds.CreatedTimes, "damaged", new CreatedRecord(DateTimeOffset.UnixEpoch), CancellationToken.None);
        var file = Directory.GetFiles(store.Root, "damaged.json", SearchOption.AllDirectories).Single();
        File.WriteAllText(file, "{\"Created\": 12");
        Assert.False(cache.TryGet(CacheKinds.CreatedTimes, "damaged", out _));
        Assert.False(cache.TryGet(CacheKinds.CreatedTimes, "never written", out _));

        // A record missing a field (or null where none may be) is a miss, not a half-filled record.
        await cache.SetAsync(CacheKinds.Layers, "partial", new LayerRecord(Missing, Missing, LayerCompression.Gzip), CancellationToken.None);
        var partial = Directory.GetFiles(store.Root, "partial.json", SearchOption.AllDirectories).Single();
        File.WriteAllText(partial, "{\"Compression\": \"Gzip\"}");
        Assert.False(cache.TryGet(CacheKinds.Layers, "partial", out _));
        File.WriteAllText(partial, "{\"Blob\": null, \"DiffId\": null, \"Compression\": \"Gzip\"}");
        Assert.False(cache.TryGet(CacheKinds.Layers, "partial", out _));
    }

    [Fact]
    public void KeysOfDifferentKindsNeverCollide()
    {
        string[] parts = ["same", "parts"];
        var keys = new[]
        {
            BuildCache.Key(CacheKinds.Layers, parts), BuildCache.Key(CacheKinds.VerifiedBlobs, parts), BuildCache.Key(CacheKinds.DockerfileSteps, parts),
            BuildCache.Key(CacheKinds.CreatedTimes, parts), BuildCache.Key(CacheKinds.Archives, parts), BuildCache.Key(CacheKinds.Outputs, parts),
        };
        Assert.Equal(keys.Length, keys.Distinct(StringComparer.Ordinal).Count());
    }
}
