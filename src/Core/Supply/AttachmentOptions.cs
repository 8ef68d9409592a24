namespace Sdk.Containers.Supply;

/// <summary>
/// Which documents to attach to an image: an SBOM (SPDX or CycloneDX) and SLSA provenance (min or max), and a folder
/// to write them to as plain files as well.
/// </summary>
/// <remarks>
/// Defaults, when the user says nothing: an SPDX SBOM and min provenance for an image pushed to a registry (as ko
/// attaches an SBOM and buildx min provenance by default; scanners and policy engines read them there), nothing
/// for archives and local engines, which have no place for them (`docker load` drops them) — an OCI layout gets them
/// when asked. They are referrers, so unlike buildx's attestations in the index, they never change the image's digest
/// or what an engine pulls.
/// </remarks>
public sealed record AttachmentOptions(SbomFormat? Sbom, ProvenanceMode? Provenance, string? Directory)
{
    public static AttachmentOptions None { get; } = new(null, null, null);

    public bool Any => Sbom is not null || Provenance is not null;

    /// <summary>The user asked for the SBOM (rather than getting it by default): then an SBOM that cannot be made is an error.</summary>
    public bool SbomAsked { get; init; }

    /// <param name="sbom">spdx, cyclonedx, true (spdx), false, or empty for the default.</param>
    /// <param name="provenance">min, max, mode=min|max (buildx's form), true (min), false, or empty for the default.</param>
    /// <param name="pushes">Whether the image goes to a registry: only then are the defaults on.</param>
    public static AttachmentOptions Resolve(string? sbom, string? provenance, string? directory, bool pushes, string sbomName = "ContainerSbom", string provenanceName = "ContainerProvenance")
    {
        var sbomValue = sbom?.Trim().ToLowerInvariant() ?? string.Empty;
        SbomFormat? format = sbomValue switch
        {
            "" => pushes ? SbomFormat.Spdx : null,
            "spdx" or "spdx-json" or "true" => SbomFormat.Spdx,
            "cyclonedx" or "cyclonedx-json" or "cdx" => SbomFormat.CycloneDx,
            "false" or "none" => null,
            _ => throw new ContainerException(ErrorCodes.InvalidAttachment, $"{sbomName} is '{sbom}'; it must be spdx, cyclonedx or false."),
        };
        var provenanceValue = provenance?.Trim().ToLowerInvariant() ?? string.Empty;
        if (provenanceValue.StartsWith("mode=", StringComparison.Ordinal))
        {
            provenanceValue = provenanceValue["mode=".Length..];
        }

        ProvenanceMode? mode = provenanceValue switch
        {
            "" => pushes ? ProvenanceMode.Min : null,
            "min" or "true" => ProvenanceMode.Min,
            "max" => ProvenanceMode.Max,
            "false" or "none" => null,
            _ => throw new ContainerException(ErrorCodes.InvalidAttachment, $"{provenanceName} is '{provenance}'; it must be min, max or false."),
        };

        // A folder asked for means the documents are wanted even where no output can hold them.
        var folder = string.IsNullOrWhiteSpace(directory) ? null : directory.Trim();
        if (folder is not null && sbomValue.Length == 0 && format is null)
        {
            format = SbomFormat.Spdx;
        }

        return new AttachmentOptions(format, mode, folder) { SbomAsked = format is not null && sbomValue.Length > 0 };
    }
}
