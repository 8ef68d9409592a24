using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Sdk.Containers.Digests;
using Sdk.Containers.Images;
using Sdk.Containers.Layers;

namespace Sdk.Containers.Storage;

/// <summary>A layer written from a plan: its blob (which must still be in the store) and diff_id.</summary>
public sealed record LayerRecord(Digest Blob, Digest DiffId, LayerCompression Compression);

/// <summary>
/// The blob a layer's content was compressed to, keyed by diff_id and compression setting: the same content (the
/// runtime of a second self-contained app on this machine, say) is compressed once, whatever plan it comes from.
/// </summary>
public sealed record CompressedBlobRecord(Digest Blob);

/// <summary>A blob file verified like `docker load` does, keyed by the file's stamp: what it hashed to.</summary>
public sealed record VerifiedBlobRecord(Digest Blob, long Size, Digest DiffId, long UncompressedSize, LayerCompression Compression);

/// <summary>What a Dockerfile step made: no layer, or a layer blob (which must still be in the store) and its diff_id.</summary>
public sealed record StepRecord(Digest? Blob, Digest? DiffId, LayerCompression Compression)
{
    public static StepRecord NoLayer { get; } = new(null, null, LayerCompression.Gzip);

    public static StepRecord For(Layer layer) => new(layer.Descriptor.Digest, layer.DiffId, MediaTypes.CompressionOf(layer.Descriptor.MediaType));

    /// <summary>The layer again, from the blob store.</summary>
    public Layer? ToLayer(BlobStore store)
        => Blob is { } digest && DiffId is { } diffId && store.TryGet(digest, out var blob)
            ? Layer.Create(blob.Path, digest, blob.Size, Compression, diffId) with { Source = LayerSource.BuildCache }
            : null;
}

/// <summary>The created time given to an image whose config, but for that time, is the same as before.</summary>
public sealed record CreatedRecord(DateTimeOffset Created);

/// <summary>An archive read into the store: its files (each a stored blob) and links, by name.</summary>
public sealed record ArchiveRecord(IReadOnlyDictionary<string, Digest> Files, IReadOnlyDictionary<string, string> Links);

/// <summary>A file target written: what it holds, and the file's stamp right after (changed or replaced since: stale).</summary>
public sealed record OutputRecord(Digest Digest, IReadOnlyList<string> Names, long Timestamp, string FileStamp);

/// <summary>
/// One kind of cache record: where its records live, the version its keys start with, how it is stored, and which
/// blobs a record needs in the store to count as a hit — so no caller has to remember that rule.
/// </summary>
public sealed record CacheKind<T>(string Name, string KeyVersion, JsonTypeInfo<T> Json, Func<T, IEnumerable<Digest>> StoredBlobs);

/// <summary>
/// Every kind of record the build cache holds, with its key version: bump a version when what its key covers or
/// what its record means changes, so records of earlier builds are never misread (they are simply not found).
/// </summary>
public static class CacheKinds
{
    public static readonly CacheKind<LayerRecord> Layers = new("layers", "layer-v3", CacheJson.Default.LayerRecord, r => [r.Blob]);

    public static readonly CacheKind<CompressedBlobRecord> CompressedBlobs = new("compressed", "compressed-v1", CacheJson.Default.CompressedBlobRecord, r => [r.Blob]);

    public static readonly CacheKind<VerifiedBlobRecord> VerifiedBlobs = new("verified", "verified-v2", CacheJson.Default.VerifiedBlobRecord, _ => []);

    public static readonly CacheKind<StepRecord> DockerfileSteps = new("dockerfile-steps", "dockerfile-step-v2", CacheJson.Default.StepRecord, r => r.Blob is { } blob ? [blob] : []);

    public static readonly CacheKind<CreatedRecord> CreatedTimes = new("created", "created-v2", CacheJson.Default.CreatedRecord, _ => []);

    public static readonly CacheKind<ArchiveRecord> Archives = new("archives", "archive-v2", CacheJson.Default.ArchiveRecord, r => r.Files.Values);

    /// <summary>A local engine's image, by its ID: the files of its `docker save` archive, verified.</summary>
    public static readonly CacheKind<ArchiveRecord> EngineImages = new("engine-images", "engine-image-v1", CacheJson.Default.ArchiveRecord, r => r.Files.Values);

    public static readonly CacheKind<OutputRecord> Outputs = new("outputs", "archive-output-v2", CacheJson.Default.OutputRecord, _ => []);
}

// A record missing a field, or with null where none may be, does not parse (and so is a miss), rather than reaching
// a caller half-filled.
[JsonSourceGenerationOptions(UseStringEnumConverter = true, RespectRequiredConstructorParameters = true, RespectNullableAnnotations = true, Converters = [typeof(DigestJsonConverter)])]
[JsonSerializable(typeof(LayerRecord))]
[JsonSerializable(typeof(CompressedBlobRecord))]
[JsonSerializable(typeof(VerifiedBlobRecord))]
[JsonSerializable(typeof(StepRecord))]
[JsonSerializable(typeof(CreatedRecord))]
[JsonSerializable(typeof(ArchiveRecord))]
[JsonSerializable(typeof(OutputRecord))]
internal sealed partial class CacheJson : JsonSerializerContext;
