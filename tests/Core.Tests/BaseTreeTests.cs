using System.Formats.Tar;
using System.IO.Compression;
using Sdk.Containers.Digests;
using Sdk.Containers.Images;
using Sdk.Containers.Layers;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Tests;

/// <summary>Layers put on a base keep the base's directories (mode, owner) and go through its symbolic links.</summary>
public sealed class BaseTreeTests
{
    private static UnixFileMode Mode(string octal) => (UnixFileMode)Convert.ToInt32(octal, 8);

    private static Layer WriteLayer(TempDirectory work, string name, Action<TarWriter> entries)
    {
        var path = work.Combine(name + ".tar.gz");
        using (var file = File.Create(path))
        using (var gzip = new GZipStream(file, CompressionLevel.Fastest))
        using (var tar = new TarWriter(gzip, TarEntryFormat.Pax))
        {
            entries(tar);
        }

        var digest = Digest.Compute(File.ReadAllBytes(path));
        return new Layer(path, new Descriptor { MediaType = MediaTypes.LayerMediaType(ImageFormat.Oci, LayerCompression.Gzip), Digest = digest, Size = new FileInfo(path).Length }, digest);
    }

    private static void Dir(TarWriter tar, string name, string mode, int uid = 0, int gid = 0)
        => tar.WriteEntry(new PaxTarEntry(TarEntryType.Directory, name + "/") { Mode = Mode(mode), Uid = uid, Gid = gid });

    private static void Link(TarWriter tar, string name, string target)
        => tar.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, name) { LinkName = target, Mode = Mode("777") });

    private static void Empty(TarWriter tar, string name) => Text(tar, name, string.Empty);

    private static void Text(TarWriter tar, string name, string text)
        => tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { Mode = Mode("644"), DataStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text)) });

    [Fact]
    public async Task ExistingDirectoriesKeepTheBasesMetadataAndLinksAreFollowed()
    {
        using var work = new TempDirectory();
        var first = WriteLayer(work, "one", tar =>
        {
            Dir(tar, "tmp", "1777");
            Dir(tar, "home", "755");
            Dir(tar, "home/app", "750", 1654, 1654);
            Dir(tar, "run", "755");
            Dir(tar, "var", "755");
            Link(tar, "var/run", "../run");
            Dir(tar, "srv", "755");
            Dir(tar, "srv/shared", "2775", 0, 1654);
            Dir(tar, "opt", "700");
            Dir(tar, "opt/old", "700");
        });
        var second = WriteLayer(work, "two", tar =>
        {
            Empty(tar, "opt/.wh.old"); // deleted by the second layer: made anew as Docker would
            Link(tar, "srv/current", "shared");
        });
        var store = new BlobStore(work.Combine("store"));
        var tree = await BaseTree.ReadAsync([first, second], store, CancellationToken.None);

        var plan = LayerPlan.Create(
        [
            new LayerEntry("app", LayerEntryKind.Directory, LayerEntry.DirectoryMode),
            new LayerEntry("tmp/cfg/c.txt", LayerEntryKind.File, LayerEntry.RegularMode),
            new LayerEntry("home/app/.config/x", LayerEntryKind.File, LayerEntry.RegularMode),
            new LayerEntry("var/run/app/pid", LayerEntryKind.File, LayerEntry.RegularMode),
            new LayerEntry("srv/current/data", LayerEntryKind.File, LayerEntry.RegularMode),
            new LayerEntry("opt/old/again", LayerEntryKind.File, LayerEntry.RegularMode),
        ], "test");
        var fitted = tree.Fit(plan).Entries.ToDictionary(e => e.Path);

        Assert.Equal((Mode("1777"), 0, 0), (fitted["tmp"].Mode, fitted["tmp"].Uid, fitted["tmp"].Gid));
        Assert.Equal((LayerEntry.DirectoryMode, 0, 0), (fitted["tmp/cfg"].Mode, fitted["tmp/cfg"].Uid, fitted["tmp/cfg"].Gid)); // new: root 0755
        Assert.Equal((Mode("750"), 1654, 1654), (fitted["home/app"].Mode, fitted["home/app"].Uid, fitted["home/app"].Gid));
        Assert.Equal(Mode("2775"), fitted["srv/shared"].Mode & Mode("7777"));
        Assert.Equal(1654, fitted["srv/shared"].Gid);
        Assert.True(fitted.ContainsKey("run/app/pid"), "a path through /var/run (→ ../run) lands under /run");
        Assert.True(fitted.ContainsKey("srv/shared/data"), "a path through a relative link in the same directory follows it");
        Assert.False(fitted.ContainsKey("var/run"), "the link is not replaced by a directory");
        Assert.Equal(LayerEntry.DirectoryMode, fitted["opt/old"].Mode); // deleted in the base: made as new
        Assert.Equal(Mode("700"), fitted["opt"].Mode);

        // Read once per base: the second time comes from the cache file, and says the same.
        var again = await BaseTree.ReadAsync([first, second], store, CancellationToken.None);
        Assert.Equal(tree.Count, again.Count);
        Assert.Equal(tree.Fit(plan).Entries, again.Fit(plan).Entries);
    }

    [Fact]
    public async Task TheBasesAccountFilesAreKeptAsTheTopLayerHasThem()
    {
        using var work = new TempDirectory();
        var first = WriteLayer(work, "one", tar =>
        {
            Dir(tar, "etc", "755");
            Text(tar, "etc/passwd", "root:x:0:0::/root:/bin/sh\n");
            Text(tar, "etc/group", "root:x:0:\n");
            Text(tar, "etc/shadow", "root:*:1::::::\n");
        });
        var second = WriteLayer(work, "two", tar =>
        {
            Text(tar, "etc/passwd", "root:x:0:0::/root:/bin/sh\napp:x:1654:1654::/home/app:/bin/sh\n"); // RUN adduser
            Empty(tar, "etc/.wh.group");
        });
        var store = new BlobStore(work.Combine("store"));

        foreach (var tree in new[] { await BaseTree.ReadAsync([first, second], store, CancellationToken.None), await BaseTree.ReadAsync([first, second], store, CancellationToken.None) })
        {
            Assert.Equal("root:x:0:0::/root:/bin/sh\napp:x:1654:1654::/home/app:/bin/sh\n", tree.Text("etc/passwd"));
            Assert.Null(tree.Text("etc/group")); // deleted by the top layer
            Assert.Null(tree.Text("etc/shadow")); // not an account file we read: never kept
            Assert.Equal((1654, 1654), Dockerfiles.UserDatabase.Parse(tree.Text("etc/passwd"), tree.Text("etc/group")).ResolveOwner("app", _ => throw new InvalidOperationException()));
        }

        Assert.Equal("root:x:0:\n", (await BaseTree.ReadAsync([first], store, CancellationToken.None)).Text("etc/group"));
    }

    [Fact]
    public void OnNoBaseThePlanIsUnchanged()
    {
        var plan = LayerPlan.Create([new LayerEntry("tmp/x", LayerEntryKind.File, LayerEntry.RegularMode)], "test");
        Assert.Same(plan, BaseTree.Empty.Fit(plan));
    }
}
