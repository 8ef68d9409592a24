using Sdk.Containers.Digests;
using Sdk.Containers.Images;
using Sdk.Containers.Layers;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Dockerfiles;

/// <summary>What a Dockerfile step made: no layer, or a layer blob (which must still be in the store) and its diff_id.</summary>
internal sealed record StepRecord(Digest? Blob, Digest? DiffId, LayerCompression Compression)
{
    public static StepRecord NoLayer { get; } = new(null, null, LayerCompression.Gzip);

    public static StepRecord For(Layer layer) => new(layer.Descriptor.Digest, layer.DiffId, MediaTypes.CompressionOf(layer.Descriptor.MediaType));

    /// <summary>The layer again, from the blob store.</summary>
    public Layer? ToLayer(BlobStore store)
        => Blob is { } digest && DiffId is { } diffId && store.TryGet(digest, out var blob)
            ? Layer.Create(blob.Path, digest, blob.Size, Compression, diffId) with { Reused = true, FromBuildCache = true }
            : null;
}

/// <summary>
/// The step cache of Dockerfile builds, typed over the build cache's records (whose on-disk form it keeps, so the
/// caches of earlier builds still hit). A record naming a blob the store no longer has, or one that does not parse,
/// is a miss: the step runs again.
/// </summary>
internal sealed class StepCache(BuildCache cache)
{
    private const string Kind = "dockerfile-steps";
    private const string BlobField = BuildCache.StoredPrefix + "blob";

    /// <summary>Bump when what a key covers or what a record means changes.</summary>
    public const string KeyVersion = "dockerfile-step-v1";

    public StepRecord? TryGet(string key)
    {
        if (!cache.TryGet(Kind, key, out var record))
        {
            return null;
        }

        if (record.GetValueOrDefault("layer") == "none")
        {
            return StepRecord.NoLayer;
        }

        return Digest.TryParse(record.GetValueOrDefault(BlobField), out var blob)
            && Digest.TryParse(record.GetValueOrDefault("diffId"), out var diffId)
            && Enum.TryParse<LayerCompression>(record.GetValueOrDefault("compression", nameof(LayerCompression.Gzip)), out var compression)
            ? new StepRecord(blob, diffId, compression)
            : null;
    }

    public Task SetAsync(string key, StepRecord record, CancellationToken cancellationToken)
        => cache.SetAsync(Kind, key, record.Blob is null
            ? new Dictionary<string, string> { ["layer"] = "none" }
            : new Dictionary<string, string> { [BlobField] = record.Blob.Value.ToString(), ["diffId"] = record.DiffId!.Value.ToString(), ["compression"] = record.Compression.ToString() }, cancellationToken);
}
