using System.Text.Json.Serialization;
using Sdk.Containers.Digests;

namespace Sdk.Containers.Images;

/// <summary>An OCI content descriptor: what a blob is, how big, and its digest.</summary>
public sealed record Descriptor
{
    [JsonPropertyName("mediaType")]
    public required string MediaType { get; init; }

    [JsonPropertyName("digest")]
    [JsonConverter(typeof(DigestJsonConverter))]
    public required Digest Digest { get; init; }

    [JsonPropertyName("size")]
    public required long Size { get; init; }

    [JsonPropertyName("urls")]
    public IReadOnlyList<string>? Urls { get; init; }

    [JsonPropertyName("annotations")]
    [JsonConverter(typeof(SortedStringMapConverter))]
    public IReadOnlyDictionary<string, string>? Annotations { get; init; }

    [JsonPropertyName("platform")]
    public Platform? Platform { get; init; }

    [JsonPropertyName("artifactType")]
    public string? ArtifactType { get; init; }
}
