using System.Text.Json;
using Sdk.Containers.Digests;
using Sdk.Containers.Images;

namespace Sdk.Containers.Supply;

public enum SbomFormat
{
    Spdx,
    CycloneDx,
}

/// <summary>What the document is about: the image. Its manifest digest is known before the SBOM is written, since the
/// SBOM is a referrer of the image, not part of it.</summary>
/// <param name="Name">The image's name as pushed, e.g. "localhost:5000/app:1.0".</param>
public sealed record SbomSubject(string Name, Digest ManifestDigest, Platform Platform, DateTimeOffset Created);

/// <summary>
/// Writes an inventory as an SPDX 2.3 or CycloneDX 1.6 JSON document. The same inventory and subject give the same
/// bytes: every identifier is derived from the subject (the document namespace and serial number from the image's
/// name and digest), the time is the image's creation time, components are sorted.
/// </summary>
public static class SbomDocument
{
    public const string SpdxMediaType = "application/spdx+json";

    public const string CycloneDxMediaType = "application/vnd.cyclonedx+json";

    public static string MediaType(SbomFormat format) => format switch
    {
        SbomFormat.Spdx => SpdxMediaType,
        SbomFormat.CycloneDx => CycloneDxMediaType,
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "An SBOM is SPDX or CycloneDX."),
    };

    public static byte[] Write(SbomFormat format, SoftwareInventory inventory, SbomSubject subject) => format switch
    {
        SbomFormat.Spdx => JsonSerializer.SerializeToUtf8Bytes(SpdxWriter.Document(inventory, subject), SbomJson.Writer.SpdxDocumentJson),
        SbomFormat.CycloneDx => JsonSerializer.SerializeToUtf8Bytes(CycloneDxWriter.Bom(inventory, subject), SbomJson.Writer.CycloneDxBomJson),
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "An SBOM is SPDX or CycloneDX."),
    };

    /// <summary>The SPDX documentNamespace of an image's document: https://sdk-containers.dev/spdx/&lt;name, each
    /// segment percent-encoded&gt;/&lt;manifest digest hex&gt;. Unique per name and image, as SPDX asks, and the same
    /// each time the same image is described.</summary>
    public static string SpdxNamespace(SbomSubject subject)
        => $"https://sdk-containers.dev/spdx/{string.Join('/', subject.Name.Split('/').Select(Uri.EscapeDataString))}/{subject.ManifestDigest.Hex}";

    /// <summary>The CycloneDX serialNumber: a name-based (version 5) UUID of the image's name and digest.</summary>
    public static string CycloneDxSerialNumber(SbomSubject subject)
        => $"urn:uuid:{NameBasedUuid.Create(NameBasedUuid.Ours, $"{subject.Name}\n{subject.ManifestDigest}")}";
}
