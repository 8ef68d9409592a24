using System.Formats.Tar;
using System.IO.Compression;
using Sdk.Containers.Digests;
using Sdk.Containers.Layers;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Tests;

/// <summary>The bytes of layer tars: pinned for ordinary entries (a change would change every image's digest), PAX
/// records where a value does not fit ustar, and no per-process value anywhere.</summary>
public class TarFormatTests
{
    private static async Task<Layer> WriteAsync(IEnumerable<LayerEntry> entries, BlobStore store, Func<string, Stream>? open = null)
        => await new LayerWriter(store).WriteAsync(LayerPlan.Create(entries, "test"), open is null ? new LayerWriterOptions() : new LayerWriterOptions { OpenFile = open }, CancellationToken.None);

    private static IEnumerable<LayerEntry> Ordinary(TempDirectory files)
    {
        files.WriteFile("hello.dll", "not really IL");
        files.WriteFile("site.css", "body{}");
        return
        [
            new LayerEntry("app", LayerEntryKind.Directory, LayerEntry.DirectoryMode),
            new LayerEntry("app/hello.dll", LayerEntryKind.File, LayerEntry.RegularMode, files.Combine("hello.dll")),
            new LayerEntry("app/wwwroot/site.css", LayerEntryKind.File, LayerEntry.RegularMode, files.Combine("site.css"), Uid: 1654, Gid: 1654),
            new LayerEntry("app/link", LayerEntryKind.Symlink, (UnixFileMode)0b111_111_111, LinkTarget: "hello.dll"),
            new LayerEntry("app/again.dll", LayerEntryKind.HardLink, LayerEntry.RegularMode, LinkTarget: "app/hello.dll"),
            new LayerEntry("app/.wh.gone", LayerEntryKind.File, LayerEntry.RegularMode),
        ];
    }

    [Fact]
    public async Task OrdinaryEntriesKeepTheirBytes()
    {
        using var files = new TempDirectory();
        using var cache = new TempDirectory();
        var layer = await WriteAsync(Ordinary(files), new BlobStore(cache.Path));
        Assert.Equal("sha256:94f33d71f982eddba18a0e1d1248d5668c650ceb6cdc157c5e41e457a427ba0f", layer.DiffId.ToString());
    }

    [Fact]
    public async Task ValuesThatDoNotFitUstarAreWrittenAsPaxRecordsOfOursAndReadBack()
    {
        using var files = new TempDirectory();
        using var cache = new TempDirectory();
        files.WriteFile("data", "payload");
        var longName = "app/" + string.Join('/', Enumerable.Repeat("node_modules", 12)) + "/index.js";
        var longTarget = "../" + new string('t', 120);
        var layer = await WriteAsync(
        [
            new LayerEntry("app/big-ids", LayerEntryKind.File, LayerEntry.RegularMode, files.Combine("data"), Uid: 3_000_000, Gid: 3_000_001),
            new LayerEntry(longName, LayerEntryKind.File, LayerEntry.RegularMode, files.Combine("data")),
            new LayerEntry("app/ünïcödé.txt", LayerEntryKind.File, LayerEntry.RegularMode, files.Combine("data")),
            new LayerEntry("app/far", LayerEntryKind.Symlink, (UnixFileMode)0b111_111_111, LinkTarget: longTarget),
        ], new BlobStore(cache.Path));

        var tar = Decompress(await File.ReadAllBytesAsync(layer.BlobPath));
        var entries = new Dictionary<string, TarEntry>(StringComparer.Ordinal);
        using (var reader = new TarReader(new MemoryStream(tar)))
        {
            while (reader.GetNextEntry(copyData: true) is { } entry)
            {
                entries[entry.Name] = entry;
            }
        }

        Assert.Equal(3_000_000, entries["app/big-ids"].Uid);
        Assert.Equal(3_000_001, entries["app/big-ids"].Gid);
        Assert.Equal("payload", new StreamReader(entries["app/big-ids"].DataStream!).ReadToEnd());
        Assert.Equal(7, entries[longName].Length);
        Assert.True(entries.ContainsKey("app/ünïcödé.txt"));
        Assert.Equal(longTarget, entries["app/far"].LinkName);

        // The extended headers are named in the style of Go (PaxHeaders.0), hold only what did not fit, and nothing of this process.
        var headers = ExtendedHeaders(tar);
        var names = headers.Select(h => h.Name).ToList();
        Assert.All(names, n => Assert.True(n.Contains("PaxHeaders.0/", StringComparison.Ordinal) || n.Length == 100, n)); // cut at 100, as Go cuts it
        Assert.Contains("app/PaxHeaders.0/big-ids", names);
        Assert.Contains("app/PaxHeaders.0/far", names);
        Assert.Contains("app/PaxHeaders.0/ncd.txt", names); // the ASCII of ünïcödé.txt
        Assert.Contains(names, n => n.StartsWith("app/node_modules/node_modules/", StringComparison.Ordinal) && n.Length == 100);
        Assert.Equal(["gid", "uid"], headers.Single(h => h.Name.EndsWith("big-ids", StringComparison.Ordinal)).Keys);
        Assert.Equal(["linkpath"], headers.Single(h => h.Name.EndsWith("far", StringComparison.Ordinal)).Keys);
        Assert.All(headers, h => Assert.DoesNotContain("atime", h.Keys));
        Assert.DoesNotContain($"PaxHeaders.{Environment.ProcessId}", System.Text.Encoding.Latin1.GetString(tar));
    }

    [Fact]
    public async Task AFileOf8GiBOrMoreHasItsSizeInAPaxRecord()
    {
        const long size = 9L << 30;
        var captured = new CaptureStream(8192);
        await using (var writer = new DeterministicTarWriter(captured))
        {
            await writer.WriteAsync(new TarHeaderFields(TarEntryType.RegularFile, "models/weights.bin", LayerEntry.RegularMode, LayerWriterOptions.DefaultTimestamp), new ZeroStream(size), CancellationToken.None);
            Assert.Equal(1, writer.PaxEntries);
        }

        // Header blocks, the 9 GiB of data, its padding (none: 9 GiB is whole blocks) and the two end blocks.
        Assert.Equal(3 * 512 + size + 2 * 512, captured.Length);
        var head = captured.Head;
        Assert.Equal("models/PaxHeaders.0/weights.bin", System.Text.Encoding.ASCII.GetString(head, 0, 100).TrimEnd('\0'));
        Assert.Equal((byte)'x', head[156]);
        Assert.Equal("19 size=9663676416\n", System.Text.Encoding.ASCII.GetString(head, 512, 19));

        // The BCL's reader takes the size from the record (the header's own field cannot hold it).
        using var reader = new TarReader(new ConcatenatedStream(head.AsMemory(0, 3 * 512), new ZeroStream(size)));
        var entry = reader.GetNextEntry()!;
        Assert.Equal("models/weights.bin", entry.Name);
        Assert.Equal(size, entry.Length);
    }

    [Fact]
    public void OnlyWhatDoesNotFitBecomesARecord()
    {
        var fits = new TarHeaderFields(TarEntryType.RegularFile, new string('n', 100), LayerEntry.RegularMode, DateTimeOffset.FromUnixTimeSeconds(8589934591)) { Uid = 2097151, Gid = 0 };
        Assert.Empty(DeterministicTarWriter.PaxRecords(fits, 8589934591));
        Assert.Equal(["size"], DeterministicTarWriter.PaxRecords(fits, 8589934592).Keys);
        Assert.Equal(["mtime"], DeterministicTarWriter.PaxRecords(fits with { ModificationTime = DateTimeOffset.FromUnixTimeSeconds(-1) }, 0).Keys);
        Assert.Equal(["path"], DeterministicTarWriter.PaxRecords(fits with { Name = new string('n', 101) }, 0).Keys);
        Assert.Equal(["uid"], DeterministicTarWriter.PaxRecords(fits with { Uid = 2097152 }, 0).Keys);
    }

    [Fact]
    public async Task AnUnexpectedFailureNamesTheFileAndTheLayer()
    {
        using var files = new TempDirectory();
        using var cache = new TempDirectory();
        files.WriteFile("secret.bin", "x");
        var ex = await Assert.ThrowsAsync<ContainerException>(() => WriteAsync(
            [new LayerEntry("models/secret.bin", LayerEntryKind.File, LayerEntry.RegularMode, files.Combine("secret.bin"))],
            new BlobStore(cache.Path),
            _ => throw new UnauthorizedAccessException("Access to the path is denied.")));
        Assert.Equal("CONTAINER1018", ex.Code);
        Assert.Equal($"test: could not add '{files.Combine("secret.bin")}' as /models/secret.bin: Access to the path is denied.", ex.Message);
    }

    private static byte[] Decompress(byte[] blob)
    {
        using var tar = new MemoryStream();
        using (var gzip = new GZipStream(new MemoryStream(blob), CompressionMode.Decompress))
        {
            gzip.CopyTo(tar);
        }

        return tar.ToArray();
    }

    /// <summary>Every 'x' header in a tar: its name and the keys of its records.</summary>
    private static List<(string Name, List<string> Keys)> ExtendedHeaders(byte[] tar)
    {
        var found = new List<(string, List<string>)>();
        for (var offset = 0; offset + 512 <= tar.Length && tar[offset] != 0;)
        {
            var size = Convert.ToInt64(System.Text.Encoding.ASCII.GetString(tar, offset + 124, 11).Trim('\0', ' ') is { Length: > 0 } octal ? octal : "0", 8);
            if (tar[offset + 156] == (byte)'x')
            {
                var records = System.Text.Encoding.UTF8.GetString(tar, offset + 512, (int)size);
                var keys = records.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(r => r[(r.IndexOf(' ') + 1)..r.IndexOf('=')]).ToList();
                found.Add((System.Text.Encoding.ASCII.GetString(tar, offset, 100).TrimEnd('\0'), keys));
            }

            offset += 512 + (int)((size + 511) / 512 * 512);
        }

        return found;
    }

    /// <summary>Keeps the first bytes written and counts the rest.</summary>
    private sealed class CaptureStream(int keep) : Stream
    {
        private readonly MemoryStream _head = new();

        public byte[] Head => _head.ToArray();

        public override long Length => _length;

        private long _length;

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            var room = (int)Math.Max(0, Math.Min(buffer.Length, keep - _head.Length));
            _head.Write(buffer[..room]);
            _length += buffer.Length;
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Write(buffer.Span);
            return ValueTask.CompletedTask;
        }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Position { get => _length; set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }

    /// <summary>Bytes in memory followed by another stream.</summary>
    private sealed class ConcatenatedStream(ReadOnlyMemory<byte> head, Stream tail) : Stream
    {
        private int _read;

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_read < head.Length)
            {
                var n = Math.Min(buffer.Length, head.Length - _read);
                head.Span.Slice(_read, n).CopyTo(buffer);
                _read += n;
                return n;
            }

            return tail.Read(buffer);
        }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
