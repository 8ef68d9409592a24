using System.Text.Json.Serialization;

namespace Sdk.Containers.Images;

/// <summary>An image manifest, Docker v2 schema 2 or OCI: the two share this shape.</summary>
public sealed record ImageManifest
{
    [JsonPropertyName("schemaVersion")]
    public int SchemaVersion { get; init; } = 2;

    [JsonPropertyName("mediaType")]
    public string? MediaType { get; init; }

    [JsonPropertyName("artifactType")]
    public string? ArtifactType { get; init; }

    [JsonPropertyName("config")]
    public required Descriptor Config { get; init; }

    [JsonPropertyName("layers")]
    public required IReadOnlyList<Descriptor> Layers { get; init; }

    [JsonPropertyName("subject")]
    public Descriptor? Subject { get; init; }

    [JsonPropertyName("annotations")]
    [JsonConverter(typeof(SortedStringMapConverter))]
    public IReadOnlyDictionary<string, string>? Annotations { get; init; }
}

/// <summary>An OCI image index or a Docker manifest list.</summary>
public sealed record ImageIndex
{
    [JsonPropertyName("schemaVersion")]
    public int SchemaVersion { get; init; } = 2;

    [JsonPropertyName("mediaType")]
    public string? MediaType { get; init; }

    [JsonPropertyName("manifests")]
    public required IReadOnlyList<Descriptor> Manifests { get; init; }

    [JsonPropertyName("annotations")]
    [JsonConverter(typeof(SortedStringMapConverter))]
    public IReadOnlyDictionary<string, string>? Annotations { get; init; }
}

/// <summary>The <c>oci-layout</c> file at the root of an OCI image layout.</summary>
public sealed record OciLayoutFile
{
    [JsonPropertyName("imageLayoutVersion")]
    public string ImageLayoutVersion { get; init; } = "1.0.0";
}

/// <summary>One entry of a docker-archive's <c>manifest.json</c>.</summary>
public sealed record DockerArchiveManifestEntry
{
    [JsonPropertyName("Config")]
    public required string Config { get; init; }

    [JsonPropertyName("RepoTags")]
    public IReadOnlyList<string>? RepoTags { get; init; }

    [JsonPropertyName("Layers")]
    public required IReadOnlyList<string> Layers { get; init; }
}
