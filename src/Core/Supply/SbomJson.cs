using System.Text.Json;
using System.Text.Json.Serialization;

namespace Sdk.Containers.Supply;

// The two formats' JSON, as far as we write them. Properties are written in declaration order, so the bytes follow
// from the values alone.
internal sealed record SpdxDocumentJson
{
    [JsonPropertyName("spdxVersion")] public string SpdxVersion { get; init; } = "SPDX-2.3";
    [JsonPropertyName("dataLicense")] public string DataLicense { get; init; } = "CC0-1.0";
    [JsonPropertyName("SPDXID")] public string SpdxId { get; init; } = "SPDXRef-DOCUMENT";
    [JsonPropertyName("name")] public required string Name { get; init; }
    [JsonPropertyName("documentNamespace")] public required string DocumentNamespace { get; init; }
    [JsonPropertyName("creationInfo")] public required SpdxCreationInfoJson CreationInfo { get; init; }
    [JsonPropertyName("externalDocumentRefs")] public IReadOnlyList<SpdxExternalDocumentRefJson>? ExternalDocumentRefs { get; init; }
    [JsonPropertyName("packages")] public required IReadOnlyList<SpdxPackageJson> Packages { get; init; }
    [JsonPropertyName("relationships")] public required IReadOnlyList<SpdxRelationshipJson> Relationships { get; init; }
}

internal sealed record SpdxCreationInfoJson(
    [property: JsonPropertyName("created")] string Created,
    [property: JsonPropertyName("creators")] IReadOnlyList<string> Creators);

internal sealed record SpdxChecksumJson(
    [property: JsonPropertyName("algorithm")] string Algorithm,
    [property: JsonPropertyName("checksumValue")] string ChecksumValue);

internal sealed record SpdxExternalDocumentRefJson(
    [property: JsonPropertyName("externalDocumentId")] string ExternalDocumentId,
    [property: JsonPropertyName("spdxDocument")] string SpdxDocument,
    [property: JsonPropertyName("checksum")] SpdxChecksumJson Checksum);

internal sealed record SpdxExternalRefJson(
    [property: JsonPropertyName("referenceCategory")] string ReferenceCategory,
    [property: JsonPropertyName("referenceType")] string ReferenceType,
    [property: JsonPropertyName("referenceLocator")] string ReferenceLocator);

internal sealed record SpdxAnnotationJson(
    [property: JsonPropertyName("annotationDate")] string AnnotationDate,
    [property: JsonPropertyName("annotationType")] string AnnotationType,
    [property: JsonPropertyName("annotator")] string Annotator,
    [property: JsonPropertyName("comment")] string Comment);

internal sealed record SpdxPackageJson
{
    [JsonPropertyName("name")] public required string Name { get; init; }
    [JsonPropertyName("SPDXID")] public required string SpdxId { get; init; }
    [JsonPropertyName("versionInfo")] public string? VersionInfo { get; init; }
    [JsonPropertyName("downloadLocation")] public string DownloadLocation { get; init; } = "NOASSERTION";
    [JsonPropertyName("filesAnalyzed")] public bool FilesAnalyzed { get; init; }
    [JsonPropertyName("sourceInfo")] public string? SourceInfo { get; init; }
    [JsonPropertyName("licenseConcluded")] public string LicenseConcluded { get; init; } = "NOASSERTION";
    [JsonPropertyName("licenseDeclared")] public string LicenseDeclared { get; init; } = "NOASSERTION";
    [JsonPropertyName("copyrightText")] public string CopyrightText { get; init; } = "NOASSERTION";
    [JsonPropertyName("primaryPackagePurpose")] public string? PrimaryPackagePurpose { get; init; }
    [JsonPropertyName("checksums")] public IReadOnlyList<SpdxChecksumJson>? Checksums { get; init; }
    [JsonPropertyName("externalRefs")] public IReadOnlyList<SpdxExternalRefJson>? ExternalRefs { get; init; }
    [JsonPropertyName("annotations")] public IReadOnlyList<SpdxAnnotationJson>? Annotations { get; init; }
}

internal sealed record SpdxRelationshipJson(
    [property: JsonPropertyName("spdxElementId")] string SpdxElementId,
    [property: JsonPropertyName("relationshipType")] string RelationshipType,
    [property: JsonPropertyName("relatedSpdxElement")] string RelatedSpdxElement);

internal sealed record CycloneDxBomJson
{
    [JsonPropertyName("bomFormat")] public string BomFormat { get; init; } = "CycloneDX";
    [JsonPropertyName("specVersion")] public string SpecVersion { get; init; } = "1.6";
    [JsonPropertyName("serialNumber")] public required string SerialNumber { get; init; }
    [JsonPropertyName("version")] public int Version { get; init; } = 1;
    [JsonPropertyName("metadata")] public required CycloneDxMetadataJson Metadata { get; init; }
    [JsonPropertyName("components")] public required IReadOnlyList<CycloneDxComponentJson> Components { get; init; }
    [JsonPropertyName("dependencies")] public required IReadOnlyList<CycloneDxDependencyJson> Dependencies { get; init; }
}

internal sealed record CycloneDxMetadataJson(
    [property: JsonPropertyName("timestamp")] string Timestamp,
    [property: JsonPropertyName("tools")] CycloneDxToolsJson Tools,
    [property: JsonPropertyName("component")] CycloneDxComponentJson Component);

internal sealed record CycloneDxToolsJson([property: JsonPropertyName("components")] IReadOnlyList<CycloneDxComponentJson> Components);

internal sealed record CycloneDxHashJson(
    [property: JsonPropertyName("alg")] string Alg,
    [property: JsonPropertyName("content")] string Content);

internal sealed record CycloneDxExternalReferenceJson
{
    [JsonPropertyName("type")] public required string Type { get; init; }
    [JsonPropertyName("url")] public required string Url { get; init; }
    [JsonPropertyName("comment")] public string? Comment { get; init; }
    [JsonPropertyName("hashes")] public IReadOnlyList<CycloneDxHashJson>? Hashes { get; init; }
}

internal sealed record CycloneDxPropertyJson(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("value")] string Value);

internal sealed record CycloneDxComponentJson
{
    [JsonPropertyName("type")] public required string Type { get; init; }
    [JsonPropertyName("bom-ref")] public string? BomRef { get; init; }
    [JsonPropertyName("name")] public required string Name { get; init; }
    [JsonPropertyName("version")] public string? Version { get; init; }
    [JsonPropertyName("hashes")] public IReadOnlyList<CycloneDxHashJson>? Hashes { get; init; }
    [JsonPropertyName("purl")] public string? Purl { get; init; }
    [JsonPropertyName("externalReferences")] public IReadOnlyList<CycloneDxExternalReferenceJson>? ExternalReferences { get; init; }
    [JsonPropertyName("properties")] public IReadOnlyList<CycloneDxPropertyJson>? Properties { get; init; }
}

internal sealed record CycloneDxDependencyJson(
    [property: JsonPropertyName("ref")] string Ref,
    [property: JsonPropertyName("dependsOn")] IReadOnlyList<string> DependsOn);

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, WriteIndented = true)]
[JsonSerializable(typeof(SpdxDocumentJson))]
[JsonSerializable(typeof(CycloneDxBomJson))]
internal sealed partial class SbomJsonContext : JsonSerializerContext
{
}

internal static class SbomJson
{
    // Readable URLs and names, and the same bytes on every OS.
    public static SbomJsonContext Writer { get; } = new(new JsonSerializerOptions(SbomJsonContext.Default.Options)
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        NewLine = "\n",
    });
}
