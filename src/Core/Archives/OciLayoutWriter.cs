using Sdk.Containers.Images;
using Sdk.Containers.IO;
using Sdk.Containers.References;

namespace Sdk.Containers.Archives;

/// <summary>
/// Writes an image into an OCI image layout directory, creating it or adding to it. Blobs are renamed into place
/// when complete and index.json is replaced last, so readers see either the old layout or the new one.
/// </summary>
public static class OciLayoutWriter
{
    /// <param name="referrers">Documents about the image, listed in index.json with their artifactType and no
    /// ref.name (as ORAS keeps them), so tools that select by tag see the image alone.</param>
    public static async Task WriteAsync(Image image, ImageReference? name, string directory, CancellationToken cancellationToken, IReadOnlyList<Supply.Referrer>? referrers = null)
    {
        referrers ??= [];
        Directory.CreateDirectory(Path.Combine(directory, "blobs", "sha256"));
        await WriteBlobAsync(directory, image.ConfigDigest, image.ConfigBytes, cancellationToken).ConfigureAwait(false);
        foreach (var layer in image.Layers)
        {
            await WriteLayerBlobAsync(directory, layer, cancellationToken).ConfigureAwait(false);
        }

        await WriteBlobAsync(directory, image.ManifestDigest, image.ManifestBytes, cancellationToken).ConfigureAwait(false);
        if (referrers.Count > 0)
        {
            foreach (var (digest, bytes) in OciLayoutContent.ReferrerBlobs(referrers))
            {
                await WriteBlobAsync(directory, digest, bytes, cancellationToken).ConfigureAwait(false);
            }
        }

        var entry = OciLayoutContent.IndexEntry(image, name);
        var existing = ReadExistingEntries(directory);
        var refName = entry.Annotations?.GetValueOrDefault(OciLayoutContent.RefNameAnnotation);
        var kept = existing.Where(d => refName is null
            ? d.Digest != entry.Digest
            : d.Annotations?.GetValueOrDefault(OciLayoutContent.RefNameAnnotation) != refName)
            .Where(d => referrers.All(r => r.ManifestDigest != d.Digest));
        await AtomicFile.WriteAllBytesAsync(Path.Combine(directory, "oci-layout"), OciLayoutContent.LayoutFile(), cancellationToken).ConfigureAwait(false);
        await AtomicFile.WriteAllBytesAsync(Path.Combine(directory, "index.json"), OciLayoutContent.Index(kept.Append(entry).Concat(referrers.Select(r => r.Descriptor))), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A layer's blob into the layout's blobs/, whole or not at all; one already there is kept.</summary>
    internal static async Task WriteLayerBlobAsync(string directory, Layers.Layer layer, CancellationToken cancellationToken)
    {
        var target = Path.Combine(directory, OciLayoutContent.BlobPath(layer.Descriptor.Digest));
        if (!File.Exists(target))
        {
            await using var file = AtomicFile.Create(target);
            await using (var blob = layer.OpenBlob())
            {
                await blob.CopyToAsync(file.Stream, cancellationToken).ConfigureAwait(false);
            }

            await file.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static IReadOnlyList<Descriptor> ReadExistingEntries(string directory)
    {
        var index = Path.Combine(directory, "index.json");
        return File.Exists(index) ? ImageJson.ParseIndex(File.ReadAllBytes(index), index).Manifests : [];
    }

    private static async Task WriteBlobAsync(string directory, Digests.Digest digest, byte[] content, CancellationToken cancellationToken)
    {
        var target = Path.Combine(directory, OciLayoutContent.BlobPath(digest));
        if (!File.Exists(target))
        {
            await AtomicFile.WriteAllBytesAsync(target, content, cancellationToken).ConfigureAwait(false);
        }
    }
}
