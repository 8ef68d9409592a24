using Sdk.Containers.Digests;
using Sdk.Containers.Images;

namespace Sdk.Containers.Archives;

/// <summary>The files an OCI image layout is made of, so the layout, the oci-archive and the docker-archive agree.</summary>
internal static class OciLayoutContent
{
    public static string BlobPath(Digest digest) => $"blobs/{digest.Algorithm}/{digest.Hex}";

    public static byte[] LayoutFile() => ImageJson.Serialize(new OciLayoutFile());

    public static Descriptor IndexEntry(Image image, string? repoTag)
    {
        if (repoTag is null)
        {
            return image.ManifestDescriptor();
        }

        var annotations = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [ImageNaming.ContainerdNameAnnotation] = ImageNaming.FullyQualified(repoTag),
            [ImageNaming.RefNameAnnotation] = ImageNaming.TagOf(repoTag),
        };
        return image.ManifestDescriptor(annotations);
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
}
