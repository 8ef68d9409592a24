using Sdk.Containers.Digests;
using Sdk.Containers.Images;
using Sdk.Containers.References;

namespace Sdk.Containers.Archives;

/// <summary>The files an OCI image layout is made of, so the layout, the oci-archive and the docker-archive agree.</summary>
internal static class OciLayoutContent
{
    public static string BlobPath(Digest digest) => $"blobs/{digest.Algorithm}/{digest.Hex}";

    public static byte[] LayoutFile() => ImageJson.Serialize(new OciLayoutFile());

    public const string RefNameAnnotation = "org.opencontainers.image.ref.name";
    public const string ContainerdNameAnnotation = "io.containerd.image.name";

    public static Descriptor IndexEntry(Image image, ImageReference? name)
        => name is null ? image.ManifestDescriptor() : image.ManifestDescriptor(NameAnnotations(name));

    /// <summary>
    /// How index.json names an image: containerd-backed engines import io.containerd.image.name and need it fully
    /// qualified, as `docker save` writes it; OCI tools select by the tag in ref.name.
    /// </summary>
    public static Dictionary<string, string>? NameAnnotations(ImageReference? name)
    {
        if (name is null)
        {
            return null;
        }

        var annotations = new Dictionary<string, string>(StringComparer.Ordinal) { [ContainerdNameAnnotation] = name.ToString() };
        if (name.Tag is { } tag)
        {
            annotations[RefNameAnnotation] = tag;
        }

        return annotations;
    }

    public static byte[] Index(IEnumerable<Descriptor> manifests)
        => ImageJson.Serialize(new ImageIndex { MediaType = MediaTypes.OciIndex, Manifests = manifests.ToArray() });

    /// <summary>Writes every blob of the image: config, layers, then the manifest.</summary>
    public static async Task WriteBlobsAsync(TarArchiveWriter tar, Image image, CancellationToken cancellationToken)
    {
        await tar.AddDirectoryAsync("blobs/", cancellationToken).ConfigureAwait(false);
        await tar.AddDirectoryAsync("blobs/sha256/", cancellationToken).ConfigureAwait(false);
        await tar.AddFileAsync(BlobPath(image.ConfigDigest), image.ConfigBytes, cancellationToken).ConfigureAwait(false);
        foreach (var layer in image.Layers)
        {
            var name = BlobPath(layer.Descriptor.Digest);
            if (!tar.Contains(name))
            {
                await using var blob = layer.OpenBlob();
                await tar.AddFileAsync(name, blob, cancellationToken).ConfigureAwait(false);
            }
        }

        await tar.AddFileAsync(BlobPath(image.ManifestDigest), image.ManifestBytes, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The blobs of attached documents: each document, the empty config they share, their manifests.</summary>
    public static IEnumerable<(Digest Digest, byte[] Bytes)> ReferrerBlobs(IReadOnlyList<Supply.Referrer> referrers)
        => referrers.SelectMany(r => new[] { (r.DocumentDescriptor.Digest, r.Document), (r.ManifestDigest, r.ManifestBytes) })
            .Append((Supply.Referrer.EmptyConfigDescriptor.Digest, Supply.Referrer.EmptyConfig.ToArray()))
            .DistinctBy(b => b.Item1);
}
