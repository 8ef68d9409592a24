using Sdk.Containers.Layers;
using Sdk.Containers.Unpacking;

namespace Sdk.Containers.Tests;

public sealed class RootfsDiffTests
{
    [Fact]
    public void ChangesBecomeEntriesAndDeletionsWhiteoutsAsBuildKitWritesThem()
    {
        using var work = new TempDirectory();
        var root = work.Combine("root");
        work.WriteFile("root/etc/motd", "hello");
        work.WriteFile("root/etc/keep", "keep");
        work.WriteFile("root/gone/deep/file", "x");
        work.WriteFile("root/opt/x/inner", "inner");
        work.WriteFile("root/replaced/old", "old");
        var before = RootfsSnapshot.Take(root);

        File.WriteAllText(Path.Combine(root, "etc", "motd"), "changed!");
        Directory.Delete(Path.Combine(root, "gone"), recursive: true);
        Directory.Delete(Path.Combine(root, "opt", "x"), recursive: true);
        File.WriteAllText(Path.Combine(root, "opt", "x"), "now a file");
        Directory.Delete(Path.Combine(root, "replaced"), recursive: true);
        work.WriteFile("root/replaced/new", "new");
        work.WriteFile("root/added/file", "added");
        var after = RootfsSnapshot.Take(root);

        var entries = RootfsDiff.Compute(before, after).ToDictionary(e => e.Path);
        Assert.Equal(LayerEntryKind.File, entries["etc/motd"].Kind);
        Assert.False(entries.ContainsKey("etc/keep"));
        Assert.True(entries.ContainsKey(".wh.gone"));
        Assert.DoesNotContain(entries.Keys, k => k.StartsWith("gone/", StringComparison.Ordinal));
        Assert.Equal(LayerEntryKind.File, entries["opt/x"].Kind);
        Assert.False(entries.ContainsKey("opt/x/.wh.inner"));
        // A directory deleted and made again is encoded as BuildKit's differs encode it, whatever inode it got: a
        // whiteout for what it lost, no opaque marker.
        Assert.True(entries.ContainsKey("replaced/.wh.old"));
        Assert.False(entries.ContainsKey("replaced/.wh..wh..opq"));
        Assert.True(entries.ContainsKey("replaced/new"));
        Assert.True(entries.ContainsKey("added") && entries.ContainsKey("added/file"));
        Assert.Equal(LayerEntryKind.Directory, entries["etc"].Kind);
    }

    [Fact]
    public void AnUnchangedRootHasNoDifference()
    {
        using var work = new TempDirectory();
        work.WriteFile("root/a/b", "b");
        var snapshot = RootfsSnapshot.Take(work.Combine("root"));
        Assert.Empty(RootfsDiff.Compute(snapshot, RootfsSnapshot.Take(work.Combine("root"))));
    }
}
