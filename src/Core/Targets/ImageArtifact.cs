using Sdk.Containers.Digests;
using Sdk.Containers.Images;

namespace Sdk.Containers.Targets;

/// <summary>An image index as sent: its bytes exactly as pushed or written, so every target names the same digest.</summary>
public sealed record IndexDocument(byte[] Bytes, string MediaType, Digest Digest);

/// <summary>
/// What goes to a target: one image, or the images of several platforms under one index (a Docker manifest list when
/// every image is Docker-format, an OCI index otherwise, as buildx writes them).
/// </summary>
public sealed class ImageArtifact
{
    private ImageArtifact(IReadOnlyList<Image> images, IndexDocument? index, IReadOnlyList<Supply.Referrer>? referrers = null, AttachDocuments? attach = null)
    {
        Images = images;
        Index = index;
        Referrers = referrers ?? [];
        Attach = attach;
    }

    /// <summary>Makes the documents about an image again, for a target that re-serialises it (and so changes its digest).</summary>
    public delegate Task<IReadOnlyList<Supply.Referrer>> AttachDocuments(Image image, CancellationToken cancellationToken);

    public IReadOnlyList<Image> Images { get; }

    /// <summary>Null for a single image.</summary>
    public IndexDocument? Index { get; }

    /// <summary>The one image, for targets that hold no index; null for an index.</summary>
    public Image? Single => Index is null ? Images[0] : null;

    /// <summary>What a registry or layout names it by: the index's digest, or the image manifest's.</summary>
    public Digest Digest => Index?.Digest ?? Images[0].ManifestDigest;

    /// <summary>Documents attached to the images (SBOMs, provenance): registries and layouts get them, archives for an engine do not.</summary>
    public IReadOnlyList<Supply.Referrer> Referrers { get; }

    /// <summary>How the documents were made, when they can be made again for another serialisation of the image.</summary>
    public AttachDocuments? Attach { get; }

    /// <summary>The same images with these documents attached; each must be about one of them.</summary>
    public ImageArtifact WithReferrers(IReadOnlyList<Supply.Referrer> referrers, AttachDocuments? attach = null)
    {
        var unknown = referrers.FirstOrDefault(r => !Images.Any(i => i.ManifestDigest == r.Subject.Digest));
        return unknown is null
            ? new ImageArtifact(Images, Index, [.. Referrers, .. referrers], attach ?? Attach)
            : throw new ArgumentException($"The {unknown.ArtifactType} document is about {unknown.Subject.Digest}, which is none of these images.", nameof(referrers));
    }

    public string Platforms => string.Join(", ", Images.Select(i => i.Config.Platform));

    public static ImageArtifact Of(Image image) => new([image], null);

    public static ImageArtifact IndexOf(IReadOnlyList<Image> images, IReadOnlyDictionary<string, string>? annotations = null)
    {
        if (images.Count == 0)
        {
            throw new ArgumentException("An index lists at least one image.", nameof(images));
        }

        var docker = images.All(i => i.Format == ImageFormat.Docker);
        var index = new ImageIndex
        {
            MediaType = docker ? MediaTypes.DockerManifestList : MediaTypes.OciIndex,
            Manifests = images.Select(i => i.ManifestDescriptor(withPlatform: true)).ToArray(),
            Annotations = docker ? null : annotations,
        };
        var bytes = ImageJson.Serialize(index);
        return new ImageArtifact(images, new IndexDocument(bytes, index.MediaType!, Digest.Compute(bytes)));
    }

    /// <summary>
    /// The same image with OCI media types, as buildx writes OCI outputs; the config bytes (and so the image ID) stay
    /// the same. An index is left as built: its images are the ones its digest names.
    /// </summary>
    /// <remarks>
    /// Referrers name their subject by digest, and the re-serialised manifest has a new one: its documents are made
    /// again for it (an SBOM and a provenance name the image they describe), or, when nothing can make them, left out
    /// with a line in the log rather than attached to an image that is not there.
    /// </remarks>
    public async Task<ImageArtifact> WithOciMediaTypesAsync(IBuildLog log, CancellationToken cancellationToken)
    {
        if (Single is not { Format: ImageFormat.Docker } image)
        {
            return this;
        }

        var oci = Of(Image.Create(ImageFormat.Oci, image.Config, image.ConfigBytes, image.Layers));
        if (Referrers.Count == 0)
        {
            return oci;
        }

        if (Attach is null)
        {
            log.Warning(ErrorCodes.DocumentsLeftOut, $"The image's {string.Join(", ", Referrers.Select(r => r.ArtifactType).Distinct())} documents are about its Docker-format manifest ({image.ManifestDigest}), so this OCI output holds the image without them; build with --format oci to have them here.");
            return oci;
        }

        return oci.WithReferrers(await Attach(oci.Images[0], cancellationToken).ConfigureAwait(false), Attach);
    }
}
