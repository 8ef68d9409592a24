using Sdk.Containers.Images;
using Sdk.Containers.IO;
using Sdk.Containers.References;

namespace Sdk.Containers.Archives;

/// <summary>Writes an oci-archive: an OCI image layout in a tarball.</summary>
public static class OciArchiveWriter
{
    public static async Task WriteAsync(Image image, ImageReference? name, string path, DateTimeOffset timestamp, CancellationToken cancellationToken)
    {
        await using var file = AtomicFile.Create(path);
        await using (var tar = new TarArchiveWriter(file.Stream, timestamp))
        {
            await OciLayoutContent.WriteBlobsAsync(tar, image, cancellationToken).ConfigureAwait(false);
            await tar.AddFileAsync("index.json", OciLayoutContent.Index([OciLayoutContent.IndexEntry(image, name)]), cancellationToken).ConfigureAwait(false);
            await tar.AddFileAsync("oci-layout", OciLayoutContent.LayoutFile(), cancellationToken).ConfigureAwait(false);
        }

        await file.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>An oci-archive of several platforms' images under one index, named in index.json.</summary>
    public static async Task WriteIndexAsync(IReadOnlyList<Image> images, byte[] indexBytes, string indexMediaType, ImageReference? name, string path, DateTimeOffset timestamp, CancellationToken cancellationToken)
    {
        await using var file = AtomicFile.Create(path);
        await using (var tar = new TarArchiveWriter(file.Stream, timestamp))
        {
            foreach (var image in images)
            {
                await OciLayoutContent.WriteBlobsAsync(tar, image, cancellationToken).ConfigureAwait(false);
            }

            var digest = Digests.Digest.Compute(indexBytes);
            await tar.AddFileAsync(OciLayoutContent.BlobPath(digest), indexBytes, cancellationToken).ConfigureAwait(false);
            var entry = new Descriptor
            {
                MediaType = indexMediaType,
                Digest = digest,
                Size = indexBytes.Length,
                Annotations = OciLayoutContent.NameAnnotations(name),
            };
            await tar.AddFileAsync("index.json", OciLayoutContent.Index([entry]), cancellationToken).ConfigureAwait(false);
            await tar.AddFileAsync("oci-layout", OciLayoutContent.LayoutFile(), cancellationToken).ConfigureAwait(false);
        }

        await file.CommitAsync(cancellationToken).ConfigureAwait(false);
    }
}
