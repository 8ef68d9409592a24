using Sdk.Containers.Digests;
using Sdk.Containers.Registry;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Tests;

/// <summary>The blob store and its records stay within a size: least recently used out, never under a running build.</summary>
public sealed class StoreEvictionTests
{
    private static readonly DateTime LongAgo = new(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    private static async Task<Digest> AddAsync(BlobStore store, string content, int days)
    {
        using var data = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(content.PadRight(1000, '.')));
        var blob = await store.ImportAsync(data, null, content, CancellationToken.None);
        File.SetLastAccessTimeUtc(blob.Path, LongAgo.AddDays(days)); // used that long ago, as far as the store knows
        return blob.Digest;
    }

    [Fact]
    public async Task ABuildThatAddedBlobsTrimsTheStoreLeastRecentlyUsedFirstAndKeepsWhatItUsed()
    {
        using var work = new TempDirectory();
        var store = new BlobStore(work.Combine("cache"));
        var oldest = await AddAsync(store, "oldest", 0);
        var used = await AddAsync(store, "used", 1);
        var newer = await AddAsync(store, "newer", 2);
        var cache = new BuildCache(store);
        await cache.SetAsync(CacheKinds.CompressedBlobs, "record-of-used", new CompressedBlobRecord(used), CancellationToken.None);
        File.SetLastAccessTimeUtc(Path.Combine(store.Root, "index", "compressed", "record-of-used.json"), LongAgo.AddDays(3));

        // A record hit marks the record and its blob used: now the most recent of all.
        Assert.True(cache.TryGet(CacheKinds.CompressedBlobs, "record-of-used", out _));
        Assert.True(store.TryGet(used, out _));
        Assert.Equal([oldest.Hex, newer.Hex], StoreEviction.List(store).Take(2).Select(f => Path.GetFileName(f.Path)));

        var log = new RecordingLog();
        using (new ImageServices(store, new RegistrySession(new RegistryOptions(), log), log) { CacheLimit = 1500 })
        {
        }

        Assert.False(store.TryGet(oldest, out _));
        Assert.False(store.TryGet(newer, out _));
        Assert.True(store.TryGet(used, out _));
        Assert.True(cache.TryGet(CacheKinds.CompressedBlobs, "record-of-used", out _));
        Assert.Contains(log.Lines, l => l.StartsWith("Removed 2 least recently used files", StringComparison.Ordinal));
    }

    [Fact]
    public async Task NoTrimWhileAnotherBuildHoldsTheStoreAndTheNextOneOutTrimsInstead()
    {
        using var work = new TempDirectory();
        var store = new BlobStore(work.Combine("cache"));
        var first = await AddAsync(store, "first", 0);
        var log = new RecordingLog();
        ImageServices Services(BlobStore s) => new(s, new RegistrySession(new RegistryOptions(), log), log) { CacheLimit = 0 };

        // A build that added nothing, with nothing pending, leaves the store alone.
        Services(new BlobStore(store.Root)).Dispose();
        Assert.True(store.TryGet(first, out _));

        using (store.Share())
        {
            Services(store).Dispose(); // added a blob, but another build holds the store
            Assert.True(store.TryGet(first, out _));
            Assert.Null(store.TryExclusive());
        }

        Assert.DoesNotContain(log.Lines, l => l.StartsWith("Removed", StringComparison.Ordinal));

        // The build that held it ends: it added nothing, yet trims what the other one could not.
        Services(new BlobStore(store.Root)).Dispose();
        Assert.False(store.TryGet(first, out _));
        Assert.Contains(log.Lines, l => l.StartsWith("Removed 1 least recently used files", StringComparison.Ordinal));
        Assert.False(File.Exists(Path.Combine(store.Root, ".trim-pending")));
    }

    [Fact]
    public void AnUnusableCacheOrABadLimitIsAnErrorNamingIt()
    {
        using var work = new TempDirectory();
        work.WriteFile("not-a-directory", "a file where the cache should be");
        var error = Assert.Throws<ContainerException>(() => new BlobStore(work.Combine("not-a-directory", "cache")).Share());
        Assert.Equal(ErrorCodes.CacheNotWritable, error.Code);
        Assert.Contains(work.Combine("not-a-directory", "cache"), error.Message, StringComparison.Ordinal);

        Assert.Equal(10L << 30, StoreEviction.ParseSize("10GB", "SDK_CONTAINERS_CACHE_LIMIT="));
        var bad = Assert.Throws<ContainerException>(() => StoreEviction.ParseSize("ten", "SDK_CONTAINERS_CACHE_LIMIT="));
        Assert.Equal((ErrorCodes.InvalidKeepStorage, "SDK_CONTAINERS_CACHE_LIMIT=ten: write a size such as 10GB, 512MB or 1000000."), (bad.Code, bad.Message));
    }

    [Fact]
    public async Task WhatKilledWritersLeftIsCleanedAndIsNeverCountedAsCache()
    {
        using var work = new TempDirectory();
        var store = new BlobStore(work.Combine("cache"));
        await AddAsync(store, "kept", 0);
        var pending = store.BeginWrite();
        await pending.Stream.WriteAsync(new byte[10]);
        await pending.Stream.FlushAsync();
        var halfRecord = Path.Combine(store.Root, "index", "layers", ".abc.json.0123.tmp");
        Directory.CreateDirectory(Path.GetDirectoryName(halfRecord)!);
        File.WriteAllText(halfRecord, "{");

        Assert.Single(StoreEviction.List(store));
        await pending.Stream.DisposeAsync(); // the writer is gone (a killed build's file stays behind)
        Assert.Equal(2, StoreEviction.CleanPartials(store));
        Assert.False(File.Exists(halfRecord));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(store.Root, "tmp")));
    }

    private sealed class RecordingLog : IBuildLog
    {
        public List<string> Lines { get; } = [];

        public void Info(string message) => Lines.Add(message);

        public void Detail(string message) => Lines.Add(message);

        public void Warning(string code, string message) => Lines.Add($"{code}: {message}");
    }
}
