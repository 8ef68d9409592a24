using System.Formats.Tar;
using System.IO.Compression;
using Sdk.Containers.Digests;
using Sdk.Containers.Layers;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Tests;

public class LayerWriterTests
{
    private static TempDirectory MakeApp()
    {
        var dir = new TempDirectory();
        dir.WriteFile("app/hello.dll", "not really IL");
        dir.WriteFile("app/hello", "#!/bin/sh\necho hi\n", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        dir.WriteFile("app/wwwroot/css/site.css", "body{}");
        var longName = string.Join('/', Enumerable.Repeat("a-rather-long-directory-name", 8)) + "/file-with-a-long-name.txt";
        dir.WriteFile("app/" + longName, "deep");
        dir.WriteFile("app/ünïcödé.txt", "utf8 names");
        File.CreateSymbolicLink(dir.Combine("app", "link-to-dll"), "hello.dll");
        return dir;
    }

    private static async Task<(Layer Layer, byte[] Blob)> WriteAsync(string source, BlobStore store, LayerWriterOptions? options = null)
    {
        var plan = LayerPlan.FromDirectory(source, "/app", "test");
        var layer = await new LayerWriter(store).WriteAsync(plan, options ?? new LayerWriterOptions(), CancellationToken.None);
        return (layer, await File.ReadAllBytesAsync(layer.BlobPath));
    }

    [Fact]
    public async Task DigestsDescribeTheBlobAndItsUncompressedTar()
    {
        using var app = MakeApp();
        using var cache = new TempDirectory();
        var (layer, blob) = await WriteAsync(app.Combine("app"), new BlobStore(cache.Path));

        Assert.Equal(Digest.Compute(blob), layer.Descriptor.Digest);
        Assert.Equal(blob.Length, layer.Descriptor.Size);
        using var tar = new MemoryStream();
        await using (var gzip = new GZipStream(new MemoryStream(blob), CompressionMode.Decompress))
        {
            await gzip.CopyToAsync(tar);
        }

        Assert.Equal(Digest.Compute(tar.ToArray()), layer.DiffId);
    }

    [Fact]
    public async Task TarHasSortedEntriesParentsFixedTimesRootOwnerModesAndLinks()
    {
        using var app = MakeApp();
        using var cache = new TempDirectory();
        var (_, blob) = await WriteAsync(app.Combine("app"), new BlobStore(cache.Path));
        var entries = ReadEntries(blob);
        var names = entries.Select(e => e.Name).ToList();

        Assert.Equal(names.Order(StringComparer.Ordinal), names);
        Assert.Equal("app/", names[0]);
        foreach (var entry in entries)
        {
            var parent = Path.GetDirectoryName(entry.Name.TrimEnd('/'))!.Replace('\\', '/');
            Assert.True(parent.Length == 0 || names.Contains(parent + "/"), $"{entry.Name} has no parent entry");
            Assert.Equal(0, entry.Uid);
            Assert.Equal(0, entry.Gid);
            Assert.Equal(LayerWriterOptions.DefaultTimestamp, entry.ModificationTime);
        }

        Assert.Equal(LayerEntry.ExecutableMode, entries.Single(e => e.Name == "app/hello").Mode);
        Assert.Equal(LayerEntry.RegularMode, entries.Single(e => e.Name == "app/hello.dll").Mode);
        var link = entries.Single(e => e.Name == "app/link-to-dll");
        Assert.Equal(TarEntryType.SymbolicLink, link.EntryType);
        Assert.Equal("hello.dll", link.LinkName);
        Assert.Contains(names, n => n.EndsWith("/file-with-a-long-name.txt", StringComparison.Ordinal) && n.Length > 200);
        Assert.Contains("app/ünïcödé.txt", names);
    }

    [Fact]
    public async Task SameContentGivesSameBytesWhateverTheFileTimes()
    {
        using var app = MakeApp();
        using var cache = new TempDirectory();
        var store = new BlobStore(cache.Path);
        var (first, firstBytes) = await WriteAsync(app.Combine("app"), store);

        foreach (var file in Directory.EnumerateFileSystemEntries(app.Combine("app"), "*", SearchOption.AllDirectories))
        {
            if (new FileInfo(file).LinkTarget is null)
            {
                File.SetLastWriteTimeUtc(file, DateTime.UtcNow.AddHours(3));
            }
        }

        var (second, secondBytes) = await WriteAsync(app.Combine("app"), store);
        Assert.Equal(first.Descriptor.Digest, second.Descriptor.Digest);
        Assert.Equal(first.DiffId, second.DiffId);
        Assert.Equal(firstBytes, secondBytes);
    }

    [Fact]
    public async Task AContentChangeChangesTheDigest()
    {
        using var app = MakeApp();
        using var cache = new TempDirectory();
        var store = new BlobStore(cache.Path);
        var (first, _) = await WriteAsync(app.Combine("app"), store);
        app.WriteFile("app/hello.dll", "changed IL");
        var (second, _) = await WriteAsync(app.Combine("app"), store);
        Assert.NotEqual(first.DiffId, second.DiffId);
    }

    [Fact]
    public async Task EachSourceFileIsOpenedExactlyOnce()
    {
        using var app = MakeApp();
        using var cache = new TempDirectory();
        var opens = new Dictionary<string, int>();
        var options = new LayerWriterOptions
        {
            OpenFile = path =>
            {
                opens[path] = opens.GetValueOrDefault(path) + 1;
                return File.OpenRead(path);
            },
        };

        await WriteAsync(app.Combine("app"), new BlobStore(cache.Path), options);

        var files = Directory.EnumerateFiles(app.Combine("app"), "*", SearchOption.AllDirectories)
            .Where(f => new FileInfo(f).LinkTarget is null).ToArray();
        Assert.Equal(files.Length, opens.Count);
        Assert.All(opens, kv => Assert.Equal(1, kv.Value));
    }

    [Fact]
    public async Task TimestampComesFromOptions()
    {
        using var app = MakeApp();
        using var cache = new TempDirectory();
        var epoch = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);
        var (_, blob) = await WriteAsync(app.Combine("app"), new BlobStore(cache.Path), new LayerWriterOptions { Timestamp = epoch });
        Assert.All(ReadEntries(blob), e => Assert.Equal(epoch, e.ModificationTime));
    }

    [Fact]
    public void PlansRefusePathsThatLeaveTheRoot()
    {
        var ex = Assert.Throws<ContainerException>(() => LayerPlan.Create([new LayerEntry("app/../../etc/passwd", LayerEntryKind.File, LayerEntry.RegularMode, "/dev/null")], "t"));
        Assert.Contains("'..'", ex.Message);
    }

    [Fact]
    public void AMissingPublishDirectoryIsAClearError()
    {
        var ex = Assert.Throws<ContainerException>(() => LayerPlan.FromDirectory("/nonexistent/publish", "/app", "t"));
        Assert.Contains("/nonexistent/publish", ex.Message);
    }

    internal static List<TarEntry> ReadEntries(byte[] gzipTar)
    {
        using var tar = new TarReader(new GZipStream(new MemoryStream(gzipTar), CompressionMode.Decompress));
        var list = new List<TarEntry>();
        while (tar.GetNextEntry() is { } entry)
        {
            list.Add(entry);
        }

        return list;
    }
}
