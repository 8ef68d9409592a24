using System.Formats.Tar;
using System.IO.Compression;
using Sdk.Containers.Digests;

namespace Sdk.Containers.Layers;

/// <summary>How a blob or archive is compressed, as its first bytes tell.</summary>
public enum ArchiveCompression
{
    None,
    Gzip,
    Zstd,
    Bzip2,
    Xz,
}

public sealed record LayerReadOptions
{
    /// <summary>How the user knows the layer or archive ("layer 2 of 3 (blobs/sha256/…)", "ADD rootfs.tar.xz").</summary>
    public required string Description { get; init; }

    /// <summary>The diff_id the config promises; <see cref="LayerReader.FinishAsync"/> fails when the content differs.</summary>
    public Digest? ExpectedDiffId { get; init; }

    /// <summary>The most tar the blob may inflate to, and the error that says whose budget it is.</summary>
    public (long Bytes, Func<long, ContainerException> Exceeded)? Budget { get; init; }

    /// <summary>Also hash the compressed bytes (a blob not already known by its digest).</summary>
    public bool HashBlob { get; init; }

    /// <summary>Refuse names that leave the root (absolute, "..") and hard links to outside: for readers that write
    /// nothing. The unpacker checks more, against the real root (links on the way), with its own messages.</summary>
    public bool CheckNames { get; init; }

    /// <summary>Also bzip2 and xz, as ADD extracts them; image layers are gzip, zstd or plain tar only.</summary>
    public bool AnyArchive { get; init; }
}

public sealed record LayerReadResult(Digest? BlobDigest, long BlobSize, Digest DiffId, long UncompressedSize, ArchiveCompression Compression, int Entries);

/// <summary>
/// One pass over a layer blob or tar archive, the only way the code reads one: compression told once by the first
/// bytes, the tar bounded against inflation, hashed to its diff_id as it is read, entry names checked when asked.
/// The verifier drains it, the unpacker applies its entries, and either learns the diff_id at the end from the same
/// bytes — so a layer is never applied unchecked. Corrupt input becomes one coded error naming the layer.
/// </summary>
public sealed class LayerReader : IAsyncDisposable
{
    private readonly LayerReadOptions _options;
    private readonly Stream _raw;
    private readonly HashingStream? _blobHash;
    private readonly Stream _decompressed;
    private readonly HashingStream _tarHash;
    private readonly TarReader _tar;
    private readonly long _rawLength;
    private int _entries;

    private LayerReader(Stream raw, LayerReadOptions options)
    {
        _options = options;
        _raw = raw;
        _rawLength = raw.Length;
        Compression = Sniff(raw, options.AnyArchive);
        Stream blob = new BufferedStream(raw, 1 << 16);
        if (options.HashBlob)
        {
            _blobHash = HashingStream.ForReading(blob, leaveOpen: true);
            blob = _blobHash;
        }

        var decompressed = Decompress(blob, Compression);
        if (options.Budget is { } budget)
        {
            decompressed = new InflationGuard(decompressed, budget.Bytes, budget.Exceeded);
        }

        _decompressed = decompressed;
        _tarHash = HashingStream.ForReading(decompressed, leaveOpen: true);
        _tar = new TarReader(_tarHash, leaveOpen: true);
    }

    public ArchiveCompression Compression { get; }

    /// <param name="raw">A seekable stream at the blob's start (its first bytes are read twice); disposed with the
    /// reader, or here when it cannot be opened.</param>
    public static LayerReader Open(Stream raw, LayerReadOptions options)
    {
        try
        {
            return new LayerReader(raw, options);
        }
        catch (Exception ex)
        {
            raw.Dispose();
            if (IsCorruption(ex))
            {
                throw new ContainerException(ErrorCodes.ArchiveCorrupt, $"{options.Description} is not a valid archive ({ex.Message.TrimEnd('.')}); it is truncated or corrupt.", ex);
            }

            throw;
        }
    }

    public static LayerReader OpenFile(string path, LayerReadOptions options)
        => Open(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous | FileOptions.SequentialScan), options);

    /// <summary>The next entry (its data readable until the next call), or null at the end of the archive.</summary>
    public async ValueTask<TarEntry?> NextAsync(CancellationToken cancellationToken)
    {
        TarEntry? entry;
        try
        {
            entry = await _tar.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsCorruption(ex))
        {
            throw Corrupt(ex);
        }

        if (entry is not null)
        {
            if (_options.CheckNames)
            {
                CheckName(entry);
            }

            _entries++;
        }

        return entry;
    }

    /// <summary>
    /// Reads what is left (the end-of-archive blocks and any padding belong to the diff_id too) and checks the
    /// diff_id against the one expected.
    /// </summary>
    public async Task<LayerReadResult> FinishAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _tarHash.DrainAsync(cancellationToken).ConfigureAwait(false);
            if (_blobHash is not null)
            {
                await _blobHash.DrainAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (IsCorruption(ex))
        {
            throw Corrupt(ex);
        }

        var diffId = _tarHash.GetDigest();
        if (_options.ExpectedDiffId is { } expected && expected != diffId)
        {
            throw new ContainerException(ErrorCodes.DigestMismatch, $"{_options.Description} does not match its diff_id: the config says {expected}, its content hashes to {diffId}. The layer was altered or belongs to another image.");
        }

        return new LayerReadResult(_blobHash?.GetDigest(), _blobHash?.BytesHashed ?? _rawLength, diffId, _tarHash.BytesHashed, Compression, _entries);
    }

    /// <summary>What reading corrupt input throws, from the decompressors and the tar reader, while walking the
    /// archive or reading an entry's data.</summary>
    public static bool IsCorruption(Exception ex)
        => ex is InvalidDataException or EndOfStreamException or FormatException or OverflowException or ArgumentException
            or ZstdSharp.ZstdException or SharpCompress.Common.SharpCompressException;

    public ContainerException Corrupt(Exception ex)
    {
        var what = Compression switch
        {
            ArchiveCompression.Gzip => "gzip-compressed tar",
            ArchiveCompression.Zstd => "zstd-compressed tar",
            ArchiveCompression.Bzip2 => "bzip2-compressed tar",
            ArchiveCompression.Xz => "xz-compressed tar",
            _ => "tar archive",
        };
        return new ContainerException(ErrorCodes.ArchiveCorrupt, $"{_options.Description} is not a valid {what} ({ex.Message.TrimEnd('.')}); it is truncated or corrupt.", ex);
    }

    /// <summary>Whether a file is a tar archive (compressed or not) that ADD extracts, as Docker decides: by content.</summary>
    public static bool IsTarArchive(string path)
    {
        try
        {
            using var raw = File.OpenRead(path);
            using var stream = Decompress(new BufferedStream(raw, 1 << 16), Sniff(raw, anyArchive: true));
            var header = new byte[512];
            if (stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false) < header.Length)
            {
                return false;
            }

            // ustar magic, or an old-style header whose checksum adds up.
            if (header.AsSpan(257, 5).SequenceEqual("ustar"u8))
            {
                return true;
            }

            var checksumField = System.Text.Encoding.ASCII.GetString(header, 148, 8).Trim('\0', ' ');
            if (checksumField.Length == 0 || !checksumField.All(c => c is >= '0' and <= '7'))
            {
                return false;
            }

            var sum = 0;
            for (var i = 0; i < 512; i++)
            {
                sum += i is >= 148 and < 156 ? ' ' : header[i];
            }

            return Convert.ToInt32(checksumField, 8) == sum;
        }
        catch (Exception ex) when (ex is IOException || IsCorruption(ex))
        {
            return false;
        }
    }

    internal static bool IsUnsafe(string name)
        => name.StartsWith('/') || name.Replace('\\', '/').Split('/').Any(part => part == "..");

    public async ValueTask DisposeAsync()
    {
        await _tar.DisposeAsync().ConfigureAwait(false);
        await _tarHash.DisposeAsync().ConfigureAwait(false);
        await _decompressed.DisposeAsync().ConfigureAwait(false);
        if (_blobHash is not null)
        {
            await _blobHash.DisposeAsync().ConfigureAwait(false);
        }

        await _raw.DisposeAsync().ConfigureAwait(false);
    }

    private static ArchiveCompression Sniff(Stream raw, bool anyArchive)
    {
        Span<byte> magic = stackalloc byte[6];
        var start = raw.Position;
        var read = raw.ReadAtLeast(magic, magic.Length, throwOnEndOfStream: false);
        raw.Position = start;
        return read >= 2 && magic[0] == 0x1f && magic[1] == 0x8b ? ArchiveCompression.Gzip
            : read >= 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd ? ArchiveCompression.Zstd
            : anyArchive && read >= 3 && magic[0] == (byte)'B' && magic[1] == (byte)'Z' && magic[2] == (byte)'h' ? ArchiveCompression.Bzip2
            : anyArchive && read >= 6 && magic[0] == 0xfd && magic[1] == (byte)'7' && magic[2] == (byte)'z' && magic[3] == (byte)'X' && magic[4] == (byte)'Z' && magic[5] == 0 ? ArchiveCompression.Xz
            : ArchiveCompression.None;
    }

    private static Stream Decompress(Stream blob, ArchiveCompression compression) => compression switch
    {
        ArchiveCompression.Gzip => new GZipStream(blob, CompressionMode.Decompress, leaveOpen: true),
        ArchiveCompression.Zstd => new ZstdSharp.DecompressionStream(blob, leaveOpen: true),
        ArchiveCompression.Bzip2 => SharpCompress.Compressors.BZip2.BZip2Stream.Create(blob, SharpCompress.Compressors.CompressionMode.Decompress, decompressConcatenated: true),
        ArchiveCompression.Xz => new SharpCompress.Compressors.Xz.XZStream(blob),
        _ => blob,
    };

    private void CheckName(TarEntry entry)
    {
        if (IsUnsafe(entry.Name))
        {
            throw new ContainerException(ErrorCodes.UnsafeLayerEntry, $"{_options.Description} contains the entry '{entry.Name}', which points outside the image root; the layer is refused.");
        }

        if (entry.EntryType == TarEntryType.HardLink && IsUnsafe(entry.LinkName))
        {
            throw new ContainerException(ErrorCodes.UnsafeLayerEntry, $"{_options.Description} contains a hard link '{entry.Name}' to '{entry.LinkName}', outside the image root; the layer is refused.");
        }
    }
}
