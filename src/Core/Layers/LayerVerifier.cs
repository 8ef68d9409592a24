using System.Formats.Tar;
using System.IO.Compression;
using Sdk.Containers.Digests;
using Sdk.Containers.Images;

namespace Sdk.Containers.Layers;

public sealed record LayerCheck(Digest BlobDigest, long BlobSize, Digest DiffId, long UncompressedSize, LayerCompression Compression, int Entries);

/// <summary>
/// How far a layer may inflate before it is refused as a decompression bomb: past <see cref="Floor"/> bytes, at most
/// <see cref="MaxRatio"/> times its compressed size. Real layers stay far below (a zero-filled file is the worst
/// honest case, and a whole layer of them is rare).
/// </summary>
public sealed record InflationLimit(long Floor, long MaxRatio)
{
    public static readonly InflationLimit Default = new(Floor: 1L << 30, MaxRatio: 1000);

    public long For(long compressedSize) => Math.Max(Floor, compressedSize * MaxRatio);
}

/// <summary>
/// Checks a layer the way `docker load` does, in one pass over the blob: the blob's sha256, the sha256 of its
/// decompressed tar (which must equal the diff_id) and every entry name (which must stay inside the root).
/// </summary>
public static class LayerVerifier
{
    public static LayerCompression DetectCompression(string blobPath)
    {
        Span<byte> magic = stackalloc byte[4];
        using var file = File.OpenRead(blobPath);
        var read = file.ReadAtLeast(magic, magic.Length, throwOnEndOfStream: false);
        return read >= 2 && magic[0] == 0x1f && magic[1] == 0x8b ? LayerCompression.Gzip
            : read >= 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd ? LayerCompression.Zstd
            : LayerCompression.None;
    }

    /// <param name="layerName">How the user knows this layer ("layer 2 of 3 (blobs/sha256/...)"), for messages.</param>
    /// <param name="knownBlobDigest">The blob's digest when it was already computed (a blob-store file is hashed when it
    /// is imported); the compressed bytes are then not hashed again.</param>
    public static async Task<LayerCheck> CheckAsync(string blobPath, string layerName, Digest? expectedDiffId, CancellationToken cancellationToken, InflationLimit? limit = null, Digest? knownBlobDigest = null)
    {
        var compression = DetectCompression(blobPath);

        await using var file = new FileStream(blobPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
        await using var blobHash = knownBlobDigest is null ? HashingStream.ForReading(file, leaveOpen: true) : null;
        Stream blob = blobHash is null ? file : blobHash;
        var entries = 0;
        Digest diffId;
        long uncompressedSize;
        try
        {
            await using var decompressor = compression switch
            {
                LayerCompression.Gzip => new GZipStream(blob, CompressionMode.Decompress, leaveOpen: true),
                LayerCompression.Zstd => new ZstdSharp.DecompressionStream(blob, leaveOpen: true),
                _ => (Stream?)null,
            };
            var maxInflated = (limit ?? InflationLimit.Default).For(new FileInfo(blobPath).Length);
            Stream decompressed = decompressor is null ? blob : new InflationGuard(decompressor, maxInflated, layerName);
            await using var tarHash = HashingStream.ForReading(decompressed, leaveOpen: true);
            await using (var tar = new TarReader(tarHash, leaveOpen: true))
            {
                while (await tar.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false) is { } entry)
                {
                    CheckEntry(entry, layerName);
                    entries++;
                }
            }

            // The end-of-archive blocks and any padding after them belong to the diff_id too.
            await tarHash.DrainAsync(cancellationToken).ConfigureAwait(false);
            diffId = tarHash.GetDigest();
            uncompressedSize = tarHash.BytesHashed;
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException or FormatException or ArgumentException or OverflowException or ZstdSharp.ZstdException)
        {
            var what = compression switch { LayerCompression.Gzip => "gzip-compressed tar", LayerCompression.Zstd => "zstd-compressed tar", _ => "tar" };
            throw new ContainerException(ErrorCodes.ArchiveCorrupt, $"{layerName} is not a valid {what} ({ex.Message.TrimEnd('.')}); it is truncated or corrupt.", ex);
        }

        if (blobHash is not null)
        {
            await blobHash.DrainAsync(cancellationToken).ConfigureAwait(false);
        }

        if (expectedDiffId is { } expected && expected != diffId)
        {
            throw new ContainerException(ErrorCodes.DigestMismatch, $"{layerName} does not match its diff_id: the config says {expected}, its content hashes to {diffId}. The layer was altered or belongs to another image.");
        }

        return blobHash is null
            ? new LayerCheck(knownBlobDigest!.Value, file.Length, diffId, uncompressedSize, compression, entries)
            : new LayerCheck(blobHash.GetDigest(), blobHash.BytesHashed, diffId, uncompressedSize, compression, entries);
    }

    private static void CheckEntry(TarEntry entry, string layerName)
    {
        if (IsUnsafe(entry.Name))
        {
            throw new ContainerException(ErrorCodes.UnsafeLayerEntry, $"{layerName} contains the entry '{entry.Name}', which points outside the image root; the layer is refused.");
        }

        if (entry.EntryType == TarEntryType.HardLink && IsUnsafe(entry.LinkName))
        {
            throw new ContainerException(ErrorCodes.UnsafeLayerEntry, $"{layerName} contains a hard link '{entry.Name}' to '{entry.LinkName}', outside the image root; the layer is refused.");
        }
    }

    internal static bool IsUnsafe(string name)
        => name.StartsWith('/') || name.Replace('\\', '/').Split('/').Any(part => part == "..");

    /// <summary>Stops a decompression that produces more than its limit, before it fills the disk or the clock.</summary>
    private sealed class InflationGuard(Stream inner, long limit, string layerName) : Stream
    {
        private long _read;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => _read;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
            => Count(await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        private int Count(int read)
        {
            _read += read;
            if (_read > limit)
            {
                throw new ContainerException(ErrorCodes.ArchiveCorrupt, $"{layerName} inflates to more than {limit:N0} bytes, far beyond its compressed size; it is refused as a decompression bomb.");
            }

            return read;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
