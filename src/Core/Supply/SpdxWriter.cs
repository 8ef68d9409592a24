using System.Security.Cryptography;
using System.Text;

namespace Sdk.Containers.Supply;

/// <summary>An inventory as an SPDX 2.3 document: the image as the package the document describes, each component a
/// package with its purl as an external reference, relationships as SPDX names them.</summary>
internal static class SpdxWriter
{
    private const string ImageId = "SPDXRef-Image";
    private const string BaseSbomDocumentId = "DocumentRef-base-image-sbom";

    public static SpdxDocumentJson Document(SoftwareInventory inventory, SbomSubject subject)
    {
        var ids = Ids(inventory);
        var created = SbomTool.Timestamp(subject.Created);
        var baseSbom = inventory.BaseImageSbom;
        var baseImage = inventory.BaseImage;
        var packages = new List<SpdxPackageJson>
        {
            new()
            {
                Name = subject.Name,
                SpdxId = ImageId,
                VersionInfo = subject.ManifestDigest.ToString(),
                PrimaryPackagePurpose = "CONTAINER",
                Checksums = [new("SHA256", subject.ManifestDigest.Hex)],
                ExternalRefs = [new("PACKAGE-MANAGER", "purl", OciPurl.Create(subject.Name, subject.ManifestDigest, subject.Platform))],
                Annotations = baseSbom is not null && baseImage is null ? [BaseSbomAnnotation(baseSbom, created)] : null,
            },
        };
        foreach (var component in inventory.Components)
        {
            var isBase = component.Kind == SoftwareKind.Container && component.Ref == baseImage?.Ref;
            var externalRefs = new List<SpdxExternalRefJson>();
            if (component.Purl is { } purl)
            {
                externalRefs.Add(new("PACKAGE-MANAGER", "purl", purl));
            }

            if (isBase && baseSbom is not null)
            {
                externalRefs.Add(new("OTHER", "sbom", baseSbom.Location is { } at ? $"{at}@{baseSbom.Digest}" : baseSbom.Digest.ToString()));
            }

            packages.Add(new SpdxPackageJson
            {
                Name = component.Name,
                SpdxId = ids[component.Ref],
                VersionInfo = component.Version,
                SourceInfo = component.FoundIn is { } foundIn ? $"found in {foundIn}" : null,
                PrimaryPackagePurpose = Purpose(component.Kind),
                Checksums = component.Checksums.Count == 0 ? null : [.. component.Checksums.Select(c => new SpdxChecksumJson(Algorithm(c.Algorithm), c.Hex))],
                ExternalRefs = externalRefs.Count == 0 ? null : externalRefs,
                Annotations = isBase && baseSbom is not null ? [BaseSbomAnnotation(baseSbom, created)] : null,
            });
        }

        var relationships = new List<SpdxRelationshipJson> { new("SPDXRef-DOCUMENT", "DESCRIBES", ImageId) };
        relationships.AddRange(inventory.Relationships.Select(r => new SpdxRelationshipJson(ids[r.From], Relationship(r.Kind), ids[r.To])));
        return new SpdxDocumentJson
        {
            Name = subject.Name,
            DocumentNamespace = SbomDocument.SpdxNamespace(subject),
            CreationInfo = new SpdxCreationInfoJson(created, [SbomTool.SpdxCreator]),
            ExternalDocumentRefs = baseSbom is { SpdxDocumentNamespace: { } ns } && baseSbom.MediaType == SbomDocument.SpdxMediaType
                ? [new SpdxExternalDocumentRefJson(BaseSbomDocumentId, ns, new SpdxChecksumJson("SHA256", baseSbom.Digest.Hex))]
                : null,
            Packages = packages,
            Relationships = relationships,
        };
    }

    private static SpdxAnnotationJson BaseSbomAnnotation(SbomReference sbom, string created)
        => new(created, "OTHER", SbomTool.SpdxCreator, $"The base image's own SBOM: {sbom.MediaType} {(sbom.Location is { } at ? $"{at}@" : string.Empty)}{sbom.Digest}");

    /// <summary>SPDXIDs from the components' references (their purls), reduced to the characters SPDX allows; two
    /// references that reduce alike are told apart by a hash of the reference.</summary>
    private static Dictionary<string, string> Ids(SoftwareInventory inventory)
    {
        var ids = new Dictionary<string, string>(StringComparer.Ordinal) { [SoftwareInventory.SubjectRef] = ImageId };
        var taken = new HashSet<string>(StringComparer.Ordinal) { ImageId, "SPDXRef-DOCUMENT" };
        foreach (var component in inventory.Components)
        {
            var id = "SPDXRef-" + Sanitize(component.Ref);
            if (!taken.Add(id))
            {
                id = $"{id}-{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(component.Ref)))[..12]}";
                taken.Add(id);
            }

            ids[component.Ref] = id;
        }

        return ids;
    }

    private static string Sanitize(string value)
    {
        var text = new StringBuilder(value.Length);
        foreach (var c in value.StartsWith("pkg:", StringComparison.Ordinal) ? value[4..] : value)
        {
            var keep = char.IsAsciiLetterOrDigit(c) || c is '.' or '-';
            if (keep)
            {
                text.Append(c);
            }
            else if (text.Length > 0 && text[^1] != '-')
            {
                text.Append('-');
            }
        }

        return text.ToString().TrimEnd('-');
    }

    private static string? Purpose(SoftwareKind kind) => kind switch
    {
        SoftwareKind.Application => "APPLICATION",
        SoftwareKind.Library => "LIBRARY",
        SoftwareKind.Framework => "FRAMEWORK",
        SoftwareKind.OperatingSystem => "OPERATING_SYSTEM",
        SoftwareKind.Container => "CONTAINER",
        _ => null, // a distribution package may be a library, a tool or data: SPDX leaves it open
    };

    private static string Algorithm(ChecksumAlgorithm algorithm) => algorithm switch
    {
        ChecksumAlgorithm.Sha256 => "SHA256",
        _ => "SHA512",
    };

    private static string Relationship(RelationshipKind kind) => kind switch
    {
        RelationshipKind.Contains => "CONTAINS",
        RelationshipKind.DependsOn => "DEPENDS_ON",
        _ => "DESCENDANT_OF",
    };
}
