using Sdk.Containers.Digests;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Tests;

public sealed class SnapshotStoreTests
{
    private static Digest Chain(string name) => Digest.Compute(System.Text.Encoding.UTF8.GetBytes(name));

    private static string Pending(TempDirectory work, string name, int bytes)
    {
        var pending = work.Combine("pending-" + name);
        Directory.CreateDirectory(Path.Combine(pending, "fs", "dir"));
        File.WriteAllBytes(Path.Combine(pending, "fs", "dir", "file"), new byte[bytes]);
        return pending;
    }

    [Fact]
    public void ACommittedSnapshotIsFoundByItsChainAndAHalfMadeOneIsNot()
    {
        using var work = new TempDirectory();
        var store = new SnapshotStore(work.Combine("snapshots"));
        Assert.Null(store.TryGet(Chain("a")));
        var fs = store.Commit(Chain("a"), Pending(work, "a", 10));
        Assert.Equal(fs, store.TryGet(Chain("a")));
        Assert.True(File.Exists(Path.Combine(fs, "dir", "file")));

        // A directory without its chain file (a build killed while deleting or making it) is no snapshot.
        File.Delete(Path.Combine(Path.GetDirectoryName(fs)!, "chain"));
        Assert.Null(store.TryGet(Chain("a")));
        Assert.Empty(store.List());
    }

    [Fact]
    public void CommittingAChainThatIsAlreadyThereKeepsTheFirstAndRemovesTheSecond()
    {
        using var work = new TempDirectory();
        var store = new SnapshotStore(work.Combine("snapshots"));
        var first = store.Commit(Chain("a"), Pending(work, "a1", 10));
        var second = Pending(work, "a2", 20);
        Assert.Equal(first, store.Commit(Chain("a"), second));
        Assert.False(Directory.Exists(second));
        Assert.Single(store.List());
    }

    [Fact]
    public void EvictionRemovesTheLeastRecentlyUsedFirstUntilTheStoreFits()
    {
        using var work = new TempDirectory();
        var store = new SnapshotStore(work.Combine("snapshots"));
        var when = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        foreach (var (name, age) in new[] { ("old", 3), ("middle", 2), ("new", 1) })
        {
            var fs = store.Commit(Chain(name), Pending(work, name, 1000));
            File.SetLastWriteTimeUtc(Path.Combine(Path.GetDirectoryName(fs)!, "chain"), when.AddDays(-age));
        }

        var (count, bytes) = store.Evict(2000);
        Assert.Equal((1, 1000L), (count, bytes));
        Assert.Null(store.TryGet(Chain("old")));
        Assert.NotNull(store.TryGet(Chain("middle")));
        Assert.NotNull(store.TryGet(Chain("new")));
        Assert.Equal(2, store.Evict(0).Count);
        Assert.Empty(store.List());
    }

    [Fact]
    public void ChainIdsFollowTheImageSpec()
    {
        var a = Digest.Parse("sha256:" + new string('a', 64));
        var b = Digest.Parse("sha256:" + new string('b', 64));
        var layers = new[] { a, b }.Select(d => new Layers.Layer("/dev/null", new Images.Descriptor { MediaType = "x", Digest = d, Size = 0 }, d)).ToList();
        var chains = SnapshotStore.ChainIds(layers);
        Assert.Equal(a, chains[0]);
        Assert.Equal(Digest.Compute(System.Text.Encoding.ASCII.GetBytes($"{a} {b}")), chains[1]);
    }
}
