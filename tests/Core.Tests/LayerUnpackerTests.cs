using System.Formats.Tar;
using Sdk.Containers.Unpacking;

namespace Sdk.Containers.Tests;

/// <summary>
/// Unpacking layers and ADD archives: whiteouts and opaque directories as engines apply them, and a corpus of hostile
/// archives, each refused with its own message while a canary file beside the root stays untouched.
/// </summary>
public sealed class LayerUnpackerTests
{
    private sealed record Entry(TarEntryType Type, string Name, string? Content = null, string? Link = null);

    private static MemoryStream Tar(params Entry[] entries)
    {
        var stream = new MemoryStream();
        using (var writer = new TarWriter(stream, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var entry in entries)
            {
                var tar = new PaxTarEntry(entry.Type, entry.Name) { Mode = (UnixFileMode)Convert.ToInt32(entry.Type == TarEntryType.Directory ? "755" : "644", 8) };
                if (entry.Link is not null)
                {
                    tar.LinkName = entry.Link;
                }

                if (entry.Content is not null)
                {
                    tar.DataStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(entry.Content));
                }

                writer.WriteEntry(tar);
            }
        }

        stream.Position = 0;
        return stream;
    }

    private static Task Unpack(Stream tar, string root, bool whiteouts = true)
        => LayerUnpacker.UnpackAsync(tar, root, new UnpackOptions { Description = "the test archive", ApplyWhiteouts = whiteouts }, CancellationToken.None);

    [Fact]
    public async Task WhiteoutsDeleteAndOpaqueDirectoriesHideOnlyLowerContent()
    {
        using var work = new TempDirectory();
        var root = work.Combine("root");
        Directory.CreateDirectory(root);
        await Unpack(Tar(
            new Entry(TarEntryType.Directory, "etc/"),
            new Entry(TarEntryType.RegularFile, "etc/motd", "hello"),
            new Entry(TarEntryType.Directory, "opt/"),
            new Entry(TarEntryType.RegularFile, "opt/lower", "lower"),
            new Entry(TarEntryType.RegularFile, "etc/keep", "keep")), root);
        await Unpack(Tar(
            new Entry(TarEntryType.RegularFile, "etc/.wh.motd"),
            new Entry(TarEntryType.Directory, "opt/"),
            new Entry(TarEntryType.RegularFile, "opt/upper", "upper"),
            new Entry(TarEntryType.RegularFile, "opt/.wh..wh..opq")), root);

        Assert.False(File.Exists(Path.Combine(root, "etc", "motd")));
        Assert.True(File.Exists(Path.Combine(root, "etc", "keep")));
        Assert.False(File.Exists(Path.Combine(root, "opt", "lower")));
        Assert.Equal("upper", File.ReadAllText(Path.Combine(root, "opt", "upper")));
        Assert.False(File.Exists(Path.Combine(root, "opt", ".wh..wh..opq")));
    }

    [Fact]
    public async Task LinksAreKeptAndAbsoluteSymlinksResolveInsideTheRoot()
    {
        using var work = new TempDirectory();
        var root = work.Combine("root");
        Directory.CreateDirectory(root);
        await Unpack(Tar(
            new Entry(TarEntryType.Directory, "usr/"),
            new Entry(TarEntryType.Directory, "usr/lib/"),
            new Entry(TarEntryType.SymbolicLink, "lib", Link: "/usr/lib"),
            new Entry(TarEntryType.RegularFile, "lib/through-link", "via the link"),
            new Entry(TarEntryType.HardLink, "usr/hard", Link: "usr/lib/through-link")), root);

        Assert.Equal("/usr/lib", new FileInfo(Path.Combine(root, "lib")).LinkTarget);
        Assert.Equal("via the link", File.ReadAllText(Path.Combine(root, "usr", "lib", "through-link")));
        Assert.Equal(2u, IO.Posix.LStat(Path.Combine(root, "usr", "hard")).Links);
    }

    public static TheoryData<string, string> HostileArchives() => new()
    {
        { "dotdot", "contains '..'" },
        { "absolute", "absolute paths are not allowed" },
        { "symlink-escape", "points outside the image root" },
        { "hardlink-outside", "contains '..'" },
        { "hardlink-absolute", "the hard link target '/canary.txt' is absolute" },
        { "device", "device nodes are not allowed" },
        { "duplicate", "appears twice in the archive" },
        { "absurd-pax", "is not a valid tar archive" },
        { "whiteout-dotdot", "contains '..'" },
    };

    [Theory]
    [MemberData(nameof(HostileArchives))]
    public async Task HostileArchivesAreRefusedAndNothingOutsideTheRootIsWritten(string name, string expected)
    {
        using var work = new TempDirectory();
        var root = work.Combine("root");
        Directory.CreateDirectory(root);
        var canary = work.WriteFile("canary.txt", "untouched");
        var outside = work.Path;
        Stream tar = name switch
        {
            "dotdot" => Tar(new Entry(TarEntryType.RegularFile, "../canary.txt", "overwritten")),
            "absolute" => Tar(new Entry(TarEntryType.RegularFile, canary, "overwritten")),
            "symlink-escape" => Tar(
                new Entry(TarEntryType.SymbolicLink, "escape", Link: "../.."),
                new Entry(TarEntryType.RegularFile, $"escape/{Path.GetRelativePath("/", outside)}/canary.txt", "overwritten")),
            "hardlink-outside" => Tar(new Entry(TarEntryType.HardLink, "link", Link: "../canary.txt")),
            "hardlink-absolute" => Tar(new Entry(TarEntryType.HardLink, "link", Link: "/canary.txt")),
            "device" => Tar(new Entry(TarEntryType.CharacterDevice, "dev/evil")),
            "duplicate" => Tar(new Entry(TarEntryType.RegularFile, "twice", "one"), new Entry(TarEntryType.RegularFile, "twice", "two")),
            "absurd-pax" => AbsurdPax(),
            "whiteout-dotdot" => Tar(new Entry(TarEntryType.RegularFile, "../.wh.canary.txt")),
            _ => throw new ArgumentOutOfRangeException(nameof(name)),
        };

        var error = await Assert.ThrowsAsync<ContainerException>(() => Unpack(tar, root));
        Assert.Contains(expected, error.Message);
        Assert.Contains("the test archive", error.Message);
        Assert.Equal("untouched", File.ReadAllText(canary));
        Assert.Equal(["canary.txt", "root"], Directory.EnumerateFileSystemEntries(work.Path).Select(Path.GetFileName).Order());
    }

    /// <summary>A PAX header claiming a record longer than the whole archive.</summary>
    private static MemoryStream AbsurdPax()
    {
        var stream = Tar(new Entry(TarEntryType.RegularFile, "file", "x"));
        var bytes = stream.ToArray();
        var header = new byte[512];
        System.Text.Encoding.ASCII.GetBytes("PaxHeaders/file").CopyTo(header, 0);
        System.Text.Encoding.ASCII.GetBytes("0000644\0").CopyTo(header, 100);
        System.Text.Encoding.ASCII.GetBytes("0000000\0").CopyTo(header, 108);
        System.Text.Encoding.ASCII.GetBytes("0000000\0").CopyTo(header, 116);
        System.Text.Encoding.ASCII.GetBytes("00000000040\0").CopyTo(header, 124);
        System.Text.Encoding.ASCII.GetBytes("00000000000\0").CopyTo(header, 136);
        header[156] = (byte)'x';
        System.Text.Encoding.ASCII.GetBytes("ustar\0" + "00").CopyTo(header, 257);
        for (var i = 148; i < 156; i++)
        {
            header[i] = (byte)' ';
        }

        var sum = header.Sum(b => (int)b);
        System.Text.Encoding.ASCII.GetBytes(Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ").CopyTo(header, 148);
        var record = new byte[512];
        System.Text.Encoding.ASCII.GetBytes("99999999999 path=huge\n").CopyTo(record, 0);
        return new MemoryStream([.. header, .. record, .. bytes]);
    }

    [Fact]
    public async Task CompressedArchivesAreRecognisedByContent()
    {
        using var work = new TempDirectory();
        var plain = work.Combine("a.tar");
        await using (var file = File.Create(plain))
        {
            await Tar(new Entry(TarEntryType.RegularFile, "inside", "data")).CopyToAsync(file);
        }

        var gzip = work.Combine("a.tar.gz");
        await using (var output = File.Create(gzip))
        await using (var compressor = new System.IO.Compression.GZipStream(output, System.IO.Compression.CompressionLevel.Fastest))
        await using (var input = File.OpenRead(plain))
        {
            await input.CopyToAsync(compressor);
        }

        var text = work.WriteFile("not-an-archive.txt", "just text, not a tar");
        Assert.True(LayerUnpacker.IsArchive(plain));
        Assert.True(LayerUnpacker.IsArchive(gzip));
        Assert.False(LayerUnpacker.IsArchive(text));
        var root = work.Combine("root");
        Directory.CreateDirectory(root);
        await using var raw = File.OpenRead(gzip);
        await Unpack(raw, root);
        Assert.Equal("data", File.ReadAllText(Path.Combine(root, "inside")));
    }

    [Fact]
    public async Task ALayerIsCheckedAgainstItsDiffIdAsItIsUnpacked()
    {
        using var work = new TempDirectory();
        var store = new Storage.BlobStore(work.Combine("cache"));
        work.WriteFile("src/etc/motd", "hello");
        var layer = await new Layers.LayerWriter(store).WriteAsync(Layers.LayerPlan.FromDirectory(work.Combine("src"), "/", "t"), new Layers.LayerWriterOptions(), CancellationToken.None);

        await LayerUnpacker.UnpackLayerAsync(layer, Directory.CreateDirectory(work.Combine("good")).FullName, "layer 1", CancellationToken.None);
        Assert.Equal("hello", File.ReadAllText(work.Combine("good", "etc", "motd")));

        // A config that promises other content (a swapped blob, a lying registry) fails the unpack, naming the layer.
        var lying = layer with { DiffId = Digests.Digest.Compute("something else"u8) };
        var ex = await Assert.ThrowsAsync<ContainerException>(() => LayerUnpacker.UnpackLayerAsync(lying, Directory.CreateDirectory(work.Combine("bad")).FullName, "layer 2 of the base", CancellationToken.None));
        Assert.Equal(ErrorCodes.DigestMismatch, ex.Code);
        Assert.Contains("layer 2 of the base does not match its diff_id", ex.Message);

        // The verifier reads the same bytes through the same reader and agrees.
        var check = await Layers.LayerVerifier.CheckAsync(layer.BlobPath, "layer 1", layer.DiffId, CancellationToken.None);
        Assert.Equal(layer.Descriptor.Digest, check.BlobDigest);
    }

    [Fact]
    public async Task AnArchiveThatCannotEvenBeOpenedIsOneCodedErrorAndItsStreamIsClosed()
    {
        using var work = new TempDirectory();
        var bogus = new MemoryStream([.. "BZh9"u8, .. new byte[64]]);
        var ex = await Assert.ThrowsAsync<ContainerException>(() => LayerUnpacker.UnpackAsync(bogus, Directory.CreateDirectory(work.Combine("root")).FullName, new UnpackOptions { Description = "ADD bogus.tar.bz2", ApplyWhiteouts = false }, CancellationToken.None));
        Assert.Equal(ErrorCodes.ArchiveCorrupt, ex.Code);
        Assert.StartsWith("ADD bogus.tar.bz2 is not a valid", ex.Message);
        Assert.False(bogus.CanRead);
    }
}
