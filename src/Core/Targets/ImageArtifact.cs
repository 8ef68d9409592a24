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
    private ImageArtifact(IReadOnlyList<Image> images, IndexDocument? index, IReadOnlyList<Supply.Referrer>? referrers = null)
    {
        Images = images;
        Index = index;
        Referrers = referrers ?? [];
    }

    public IReadOnlyList<Image> Images { get; }

    /// <summary>Null for a single image.</summary>
    public IndexDocument? Index { get; }

    /// <summary>The one image, for targets that hold no index; null for an index.</summary>
    public Image? Single => Index is null ? Images[0] : null;

    /// <summary>What a registry or layout names it by: the index's digest, or the image manifest's.</summary>
    public Digest Digest => Index?.Digest ?? Images[0].ManifestDigest;

    /// <summary>Documents attached to the images (SBOMs, provenance): registries and layouts get them, archives for an engine do not.</summary>
    public IReadOnlyList<Supply.Referrer> Referrers { get; }

    /// <summary>The same images with these documents attached; each must be about one of them.</summary>
    public ImageArtifact WithReferrers(IReadOnlyList<Supply.Referrer> referrers)
    {
        var unknown = referrers.FirstOrDefault(r => !Images.Any(i => i.ManifestDigest == r.Subject.Digest));
        return unknown is null
            ? new ImageArtifact(Images, Index, [.. Referrers, .. referrers])
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
    public ImageArtifact WithOciMediaTypes()
        => Single is { Format: ImageFormat.Docker } image ? Of(Image.Create(ImageFormat.Oci, image.Config, image.ConfigBytes, image.Layers)) : this;

    // Referrers name their subject by digest: an image re-serialised with other media types has a new digest, so its
    // documents would be about an image that is not there.
}
