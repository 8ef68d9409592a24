using System.Text.Json;
using System.Text.Json.Serialization;

namespace Sdk.Containers.Supply;

/// <summary>An in-toto v1 Statement whose predicate is SLSA provenance v1 (https://slsa.dev/spec/v1.0/provenance).</summary>
public sealed record ProvenanceStatement
{
    public const string MediaType = "application/vnd.in-toto+json";

    [JsonPropertyName("_type")]
    public string Type { get; init; } = "https://in-toto.io/Statement/v1";

    [JsonPropertyName("subject")]
    public required IReadOnlyList<ResourceDescriptor> Subject { get; init; }

    [JsonPropertyName("predicateType")]
    public string PredicateType { get; init; } = "https://slsa.dev/provenance/v1";

    [JsonPropertyName("predicate")]
    public required SlsaProvenance Predicate { get; init; }
}

public sealed record SlsaProvenance
{
    [JsonPropertyName("buildDefinition")]
    public required BuildDefinition BuildDefinition { get; init; }

    [JsonPropertyName("runDetails")]
    public required RunDetails RunDetails { get; init; }
}

public sealed record BuildDefinition
{
    [JsonPropertyName("buildType")]
    public required string BuildType { get; init; }

    /// <summary>What the user chose: properties or flags, by name; sorted, so the bytes do not depend on order.</summary>
    [JsonPropertyName("externalParameters")]
    public required SortedDictionary<string, JsonElement> ExternalParameters { get; init; }

    [JsonPropertyName("internalParameters")]
    public SortedDictionary<string, string>? InternalParameters { get; init; }

    [JsonPropertyName("resolvedDependencies")]
    public IReadOnlyList<ResourceDescriptor>? ResolvedDependencies { get; init; }
}

public sealed record RunDetails
{
    [JsonPropertyName("builder")]
    public required BuilderIdentity Builder { get; init; }

    [JsonPropertyName("metadata")]
    public BuildMetadata? Metadata { get; init; }

    /// <summary>max mode: what the build made on its way (each layer with the files in it, each Dockerfile step).</summary>
    [JsonPropertyName("byproducts")]
    public IReadOnlyList<ResourceDescriptor>? Byproducts { get; init; }
}

public sealed record BuilderIdentity
{
    [JsonPropertyName("id")]
    public required string Id { get; init; }

    [JsonPropertyName("version")]
    public SortedDictionary<string, string>? Version { get; init; }
}

public sealed record BuildMetadata
{
    /// <summary>The image's created time: a build records no clock of its own, so equal inputs give equal bytes.</summary>
    [JsonPropertyName("finishedOn")]
    public string? FinishedOn { get; init; }
}

/// <summary>The in-toto ResourceDescriptor: a thing by name, URI and digests.</summary>
public sealed record ResourceDescriptor
{
    [JsonPropertyName("name")]
    public string? Name { get; init; }

    [JsonPropertyName("uri")]
    public string? Uri { get; init; }

    [JsonPropertyName("digest")]
    public SortedDictionary<string, string>? Digest { get; init; }

    [JsonPropertyName("mediaType")]
    public string? MediaType { get; init; }

    [JsonPropertyName("annotations")]
    public SortedDictionary<string, JsonElement>? Annotations { get; init; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, WriteIndented = false)]
[JsonSerializable(typeof(ProvenanceStatement))]
[JsonSerializable(typeof(IReadOnlyList<string>))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(bool))]
internal sealed partial class ProvenanceJsonContext : JsonSerializerContext
{
}
