using System.Formats.Tar;
using System.IO.Compression;
using Sdk.Containers.Digests;
using Sdk.Containers.Images;

namespace Sdk.Containers.Layers;

public sealed record LayerCheck(Digest BlobDigest, long BlobSize, Digest DiffId, long UncompressedSize, LayerCompression Compression, int Entries);

/// <summary>
/// Checks a layer the way `docker load` does, in one pass over the blob: the blob's sha256, the sha256 of its
/// decompressed tar (which must equal the diff_id) and every entry name (which must stay inside the root).
/// Hashing writes nothing, so no ratio of compressed to uncompressed size is a reason to refuse a layer (gzip reaches
/// about 1032:1 on zeros, and sparse model files are real): only a budget the user sets
/// (SDK_CONTAINERS_VERIFY_LIMIT) stops it. Unpacking is bounded where it costs: see <see cref="Unpacking.UnpackLimits"/>.
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
    public static async Task<LayerCheck> CheckAsync(string blobPath, string layerName, Digest? expectedDiffId, CancellationToken cancellationToken, long? maxUncompressed = null, Digest? knownBlobDigest = null)
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
            Stream decompressed = decompressor ?? blob;
            if ((maxUncompressed ?? Unpacking.UnpackLimits.VerifyMaxBytes) is { } budget)
            {
                decompressed = new InflationGuard(decompressed, budget, limit => new ContainerException(ErrorCodes.LayerTooLarge, $"{layerName} holds more than {limit:N0} bytes of tar, the budget {Unpacking.UnpackLimits.VerifySetting} sets for verifying a layer; raise it (or unset it) to verify this image."));
            }

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
}
