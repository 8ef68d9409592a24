using Sdk.Containers.Images;
using Sdk.Containers.References;
using Sdk.Containers.Registry;
using Sdk.Containers.Sources;
using Sdk.Containers.Supply;

namespace Sdk.Containers.Cli;

/// <summary>The documents attached to an image where it is read from: a registry's referrers or a layout's.</summary>
internal static class AttachedDocuments
{
    public static async Task<IReadOnlyList<Referrer>> ReadAsync(ImageCommandContext images, string value, Image image, CancellationToken token)
    {
        var source = ImageCommandContext.SourceOf(value);
        switch (source.Transport)
        {
            case ImageTransport.Registry:
                var reference = ImageReference.Parse(source.Location, "image reference");
                var reader = new ReferrersReader(images.Session.For(reference.Registry).ForPull(reference.Repository));
                var found = new List<Referrer>();
                foreach (var descriptor in await reader.ListAsync(image.ManifestDigest, token))
                {
                    found.Add(await reader.ReadAsync(descriptor, token));
                }

                return found;
            case ImageTransport.OciLayout:
                return await LayoutReferrers.ReadAsync(source.Location, image.ManifestDigest, token);
            default:
                return [];
        }
    }

    public static bool IsSbom(Referrer referrer) => referrer.ArtifactType is SbomDocument.SpdxMediaType or SbomDocument.CycloneDxMediaType;

    public static bool IsProvenance(Referrer referrer) => referrer.ArtifactType == ProvenanceStatement.MediaType;

    /// <summary>What push and copy carry along: every document, less the kinds turned off.</summary>
    public static IReadOnlyList<Referrer> Keep(IEnumerable<Referrer> referrers, bool sbom, bool provenance)
        => referrers.Where(r => (sbom || !IsSbom(r)) && (provenance || !IsProvenance(r))).ToArray();
}
