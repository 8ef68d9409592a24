using Sdk.Containers.Images;
using Sdk.Containers.References;
using Sdk.Containers.Registry;
using Sdk.Containers.Sources;

namespace Sdk.Containers.Supply;

/// <summary>
/// The SBOM a registry base image carries as a referrer (its publisher's account of it), to be linked from ours
/// rather than ignored.
/// </summary>
public static class BaseImageSbom
{
    public static async Task<SbomReference?> FindAsync(ImageSource source, Image baseImage, RegistrySession registries, IBuildLog log, CancellationToken cancellationToken)
    {
        if (source.Transport != ImageTransport.Registry || !ImageReference.TryParse(source.Location, out var reference))
        {
            return null;
        }

        try
        {
            var repository = registries.For(reference.Registry).ForPull(reference.Repository);
            var listed = await new ReferrersReader(repository).ListAsync(baseImage.ManifestDigest, cancellationToken).ConfigureAwait(false);
            var sbom = listed.FirstOrDefault(d => d.ArtifactType is SbomDocument.SpdxMediaType or SbomDocument.CycloneDxMediaType);
            if (sbom is null)
            {
                return null;
            }

            log.Detail($"The base image {reference} has an SBOM of its own ({sbom.ArtifactType}, {sbom.Digest}): ours links it");
            return new SbomReference(sbom.Digest, sbom.ArtifactType!, $"{reference.Registry}/{reference.Repository}@{sbom.Digest}");
        }
        catch (ContainerException ex)
        {
            // A link is extra: a registry that cannot list referrers still gets an SBOM, without it.
            log.Detail($"The base image's referrers could not be read ({ex.Message}); the SBOM links none");
            return null;
        }
    }
}
