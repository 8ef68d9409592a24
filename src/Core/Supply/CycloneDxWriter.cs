namespace Sdk.Containers.Supply;

/// <summary>An inventory as a CycloneDX 1.6 BOM: the image as the metadata component, each component with its purl
/// as bom-ref, and every relationship of a component as its dependsOn (CycloneDX has one graph for both).</summary>
internal static class CycloneDxWriter
{
    public static CycloneDxBomJson Bom(SoftwareInventory inventory, SbomSubject subject)
    {
        var baseSbom = inventory.BaseImageSbom;
        var baseImage = inventory.BaseImage;
        var image = new CycloneDxComponentJson
        {
            Type = "container",
            BomRef = SoftwareInventory.SubjectRef,
            Name = subject.Name,
            Version = subject.ManifestDigest.ToString(),
            Hashes = [new("SHA-256", subject.ManifestDigest.Hex)],
            Purl = OciPurl.Create(subject.Name, subject.ManifestDigest, subject.Platform),
            ExternalReferences = baseSbom is not null && baseImage is null ? [BaseSbomReference(baseSbom)] : null,
        };
        var components = inventory.Components.Select(c => new CycloneDxComponentJson
        {
            Type = Type(c.Kind),
            BomRef = c.Ref,
            Name = c.Name,
            Version = c.Version,
            Hashes = c.Checksums.Count == 0 ? null : [.. c.Checksums.Select(h => new CycloneDxHashJson(h.Algorithm == ChecksumAlgorithm.Sha256 ? "SHA-256" : "SHA-512", h.Hex))],
            Purl = c.Purl,
            ExternalReferences = baseSbom is not null && c.Ref == baseImage?.Ref ? [BaseSbomReference(baseSbom)] : null,
            Properties = c.FoundIn is { } foundIn ? [new CycloneDxPropertyJson("sdk-containers:found-in", foundIn)] : null,
        }).ToList();

        // Every component is listed, with no dependencies when it has none, so a reader knows the graph is complete.
        var dependsOn = inventory.Relationships.ToLookup(r => r.From, r => r.To);
        var dependencies = new[] { SoftwareInventory.SubjectRef }.Concat(inventory.Components.Select(c => c.Ref))
            .Select(from => new CycloneDxDependencyJson(from, [.. dependsOn[from].Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)]))
            .ToList();
        return new CycloneDxBomJson
        {
            SerialNumber = SbomDocument.CycloneDxSerialNumber(subject),
            Metadata = new CycloneDxMetadataJson(
                SbomTool.Timestamp(subject.Created),
                new CycloneDxToolsJson([new CycloneDxComponentJson { Type = "application", Name = SbomTool.Name, Version = SbomTool.Version }]),
                image),
            Components = components,
            Dependencies = dependencies,
        };
    }

    private static CycloneDxExternalReferenceJson BaseSbomReference(SbomReference sbom) => new()
    {
        Type = "bom",
        Url = sbom.Location is { } at ? $"{at}@{sbom.Digest}" : sbom.Digest.ToString(),
        Comment = $"The base image's own SBOM ({sbom.MediaType})",
        Hashes = [new("SHA-256", sbom.Digest.Hex)],
    };

    private static string Type(SoftwareKind kind) => kind switch
    {
        SoftwareKind.Application => "application",
        SoftwareKind.Framework => "framework",
        SoftwareKind.OperatingSystem => "operating-system",
        SoftwareKind.Container => "container",
        _ => "library",
    };
}
