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
    /// <param name="layerName">How the user knows this layer ("layer 2 of 3 (blobs/sha256/...)"), for messages.</param>
    /// <param name="knownBlobDigest">The blob's digest when it was already computed (a blob-store file is hashed when it
    /// is imported); the compressed bytes are then not hashed again.</param>
    public static async Task<LayerCheck> CheckAsync(string blobPath, string layerName, Digest? expectedDiffId, CancellationToken cancellationToken, long? maxUncompressed = null, Digest? knownBlobDigest = null)
    {
        var budget = maxUncompressed ?? Unpacking.UnpackLimits.VerifyMaxBytes;
        await using var reader = LayerReader.OpenFile(blobPath, new LayerReadOptions
        {
            Description = layerName,
            ExpectedDiffId = expectedDiffId,
            HashBlob = knownBlobDigest is null,
            CheckNames = true,
            Budget = budget is { } bytes
                ? (bytes, limit => new ContainerException(ErrorCodes.LayerTooLarge, $"{layerName} holds more than {limit:N0} bytes of tar, the budget {Unpacking.UnpackLimits.VerifySetting} sets for verifying a layer; raise it (or unset it) to verify this image."))
                : null,
        });
        while (await reader.NextAsync(cancellationToken).ConfigureAwait(false) is not null)
        {
        }

        var read = await reader.FinishAsync(cancellationToken).ConfigureAwait(false);
        var compression = read.Compression switch
        {
            ArchiveCompression.Gzip => LayerCompression.Gzip,
            ArchiveCompression.Zstd => LayerCompression.Zstd,
            _ => LayerCompression.None,
        };
        return new LayerCheck(read.BlobDigest ?? knownBlobDigest!.Value, read.BlobSize, read.DiffId, read.UncompressedSize, compression, read.Entries);
    }
}
