using System.Text.Json;
using System.Text.Json.Serialization;
using Sdk.Containers.Digests;
using Sdk.Containers.Images;

namespace Sdk.Containers.Dockerfiles.Caches;

/// <summary>One step in an exported cache: its key, and the layer it made (none for a step that changed no file).</summary>
public sealed record CachedStep(
    [property: JsonPropertyName("key")] string Key,
    [property: JsonPropertyName("blob")] Digest? Blob,
    [property: JsonPropertyName("diffId")] Digest? DiffId);

/// <summary>
/// The config of an exported step cache: a plain OCI image manifest whose config (of this media type) lists the step
/// keys and whose layers are the blobs those steps made — the shape BuildKit moved to, since some registries refuse
/// index-shaped caches.
/// </summary>
public sealed record StepCacheConfig(
    [property: JsonPropertyName("steps")] IReadOnlyList<CachedStep> Steps)
{
    public const string MediaType = "application/vnd.sdk-containers.buildcache.config.v1+json";

    public byte[] Serialize() => JsonSerializer.SerializeToUtf8Bytes(this, StepCacheJson.Default.StepCacheConfig);

    /// <summary>The config, or null when the bytes are not one (a damaged or foreign cache is no cache).</summary>
    public static StepCacheConfig? TryParse(ReadOnlySpan<byte> json)
    {
        try
        {
            return JsonSerializer.Deserialize(json, StepCacheJson.Default.StepCacheConfig);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

[JsonSourceGenerationOptions(RespectRequiredConstructorParameters = true, RespectNullableAnnotations = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, Converters = [typeof(DigestJsonConverter)])]
[JsonSerializable(typeof(StepCacheConfig))]
internal sealed partial class StepCacheJson : JsonSerializerContext;
