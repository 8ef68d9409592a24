using Sdk.Containers.Digests;
using Sdk.Containers.Images;

namespace Sdk.Containers.Supply;

/// <summary>
/// A document attached to an image (an SBOM, a provenance statement) as OCI 1.1 says artifacts are: an image
/// manifest with an <c>artifactType</c>, the empty config, the document as its one layer, and the image as its
/// <c>subject</c>, so registries (the referrers API, or the <c>sha256-&lt;hex&gt;</c> tag) and layouts list it
/// beside the image without changing the image's own digest.
/// </summary>
public sealed class Referrer
{
    private Referrer(string artifactType, Descriptor subject, byte[] document, ImageManifest manifest, byte[] manifestBytes)
    {
        ArtifactType = artifactType;
        Subject = subject;
        Document = document;
        Manifest = manifest;
        ManifestBytes = manifestBytes;
        ManifestDigest = Digest.Compute(manifestBytes);
    }

    /// <summary>The empty JSON object that OCI artifacts without a config of their own point at.</summary>
    public static ReadOnlyMemory<byte> EmptyConfig { get; } = "{}"u8.ToArray();

    public static Descriptor EmptyConfigDescriptor { get; } = new()
    {
        MediaType = "application/vnd.oci.empty.v1+json",
        Digest = Digest.Compute(EmptyConfig.Span),
        Size = EmptyConfig.Length,
    };

    public string ArtifactType { get; }

    /// <summary>The image manifest it is about.</summary>
    public Descriptor Subject { get; }

    public byte[] Document { get; }

    public Descriptor DocumentDescriptor => Manifest.Layers[0];

    public ImageManifest Manifest { get; }

    public byte[] ManifestBytes { get; }

    public Digest ManifestDigest { get; }

    /// <summary>How an index (the referrers API's answer, the referrers tag, index.json) lists it.</summary>
    public Descriptor Descriptor => new()
    {
        MediaType = MediaTypes.OciManifest,
        Digest = ManifestDigest,
        Size = ManifestBytes.Length,
        ArtifactType = ArtifactType,
        Annotations = Manifest.Annotations,
    };

    /// <param name="created">Written as org.opencontainers.image.created, the image's own time, so the bytes are reproducible.</param>
    public static Referrer Create(Image subject, string artifactType, byte[] document, DateTimeOffset created)
    {
        var subjectDescriptor = new Descriptor { MediaType = subject.ManifestMediaType, Digest = subject.ManifestDigest, Size = subject.ManifestBytes.Length };
        var manifest = new ImageManifest
        {
            MediaType = MediaTypes.OciManifest,
            ArtifactType = artifactType,
            Config = EmptyConfigDescriptor,
            Layers = [new Descriptor { MediaType = artifactType, Digest = Digest.Compute(document), Size = document.Length }],
            Subject = subjectDescriptor,
            Annotations = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                [ImageAnnotations.Created] = created.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture),
            },
        };
        return new Referrer(artifactType, subjectDescriptor, document, manifest, ImageJson.Serialize(manifest));
    }

    /// <summary>A referrer read back (from a registry or layout), its bytes kept as they were so that it keeps its digest.</summary>
    public static Referrer FromExisting(byte[] manifestBytes, byte[] document, string origin)
    {
        var manifest = ImageJson.ParseManifest(manifestBytes, origin);
        var subject = manifest.Subject ?? throw new ContainerException(ErrorCodes.UnsupportedMediaType, $"{origin} names no subject, so it is not a referrer.");
        if (manifest.Layers.Count != 1 || manifest.Layers[0].Digest != Digest.Compute(document))
        {
            throw new ContainerException(ErrorCodes.UnsupportedMediaType, $"{origin} is not a document attached as one layer.");
        }

        return new Referrer(manifest.ArtifactType ?? manifest.Config.MediaType, subject, document, manifest, manifestBytes);
    }

    /// <summary>The tag that lists a subject's referrers on a registry without the referrers API (distribution spec 1.1).</summary>
    public static string FallbackTag(Digest subject) => $"{subject.Algorithm}-{subject.Hex}";
}
