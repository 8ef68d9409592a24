using Sdk.Containers.Images;
using Sdk.Containers.IO;

namespace Sdk.Containers.Archives;

/// <summary>
/// Writes a tarball for `docker load`. It carries both the classic manifest.json (read by Docker's own image store)
/// and an OCI layout (oci-layout, index.json, blobs), read by containerd-backed engines and by OCI tools, over one
/// set of blobs, the way `docker save` writes it since Docker 25.
/// </summary>
public static class DockerArchiveWriter
{
    public static async Task WriteAsync(Image image, IReadOnlyList<string> repoTags, string path, DateTimeOffset timestamp, CancellationToken cancellationToken)
    {
        await using var file = AtomicFile.Create(path);
        await WriteToAsync(image, repoTags, file.Stream, timestamp, cancellationToken).ConfigureAwait(false);
        await file.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Streams the tarball, e.g. straight into `docker load`, with no file in between.</summary>
    public static async Task WriteToAsync(Image image, IReadOnlyList<string> repoTags, Stream output, DateTimeOffset timestamp, CancellationToken cancellationToken)
    {
        await using (var tar = new TarArchiveWriter(output, timestamp))
        {
            await OciLayoutContent.WriteBlobsAsync(tar, image, cancellationToken).ConfigureAwait(false);
            var entries = repoTags.Count == 0
                ? [OciLayoutContent.IndexEntry(image, null)]
                : repoTags.Select(t => OciLayoutContent.IndexEntry(image, t)).ToArray();
            await tar.AddFileAsync("index.json", OciLayoutContent.Index(entries), cancellationToken).ConfigureAwait(false);
            var manifest = new List<DockerArchiveManifestEntry>
            {
                new()
                {
                    Config = OciLayoutContent.BlobPath(image.ConfigDigest),
                    RepoTags = repoTags.Count > 0 ? repoTags : null,
                    Layers = image.Layers.Select(l => OciLayoutContent.BlobPath(l.Descriptor.Digest)).ToArray(),
                },
            };
            await tar.AddFileAsync("manifest.json", ImageJson.Serialize(manifest), cancellationToken).ConfigureAwait(false);
            await tar.AddFileAsync("oci-layout", OciLayoutContent.LayoutFile(), cancellationToken).ConfigureAwait(false);
        }
    }
}

/// <summary>Writes an oci-archive: an OCI image layout in a tarball.</summary>
public static class OciArchiveWriter
{
    public static async Task WriteAsync(Image image, string? repoTag, string path, DateTimeOffset timestamp, CancellationToken cancellationToken)
    {
        await using var file = AtomicFile.Create(path);
        await using (var tar = new TarArchiveWriter(file.Stream, timestamp))
        {
            await OciLayoutContent.WriteBlobsAsync(tar, image, cancellationToken).ConfigureAwait(false);
            await tar.AddFileAsync("index.json", OciLayoutContent.Index([OciLayoutContent.IndexEntry(image, repoTag)]), cancellationToken).ConfigureAwait(false);
            await tar.AddFileAsync("oci-layout", OciLayoutContent.LayoutFile(), cancellationToken).ConfigureAwait(false);
        }

        await file.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>An oci-archive of several platforms' images under one index, named in index.json.</summary>
    public static async Task WriteIndexAsync(IReadOnlyList<Image> images, byte[] indexBytes, string indexMediaType, string repoTag, string path, DateTimeOffset timestamp, CancellationToken cancellationToken)
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
                Annotations = new Dictionary<string, string>(StringComparer.Ordinal)
                {
                    [ImageNaming.ContainerdNameAnnotation] = ImageNaming.FullyQualified(repoTag),
                    [ImageNaming.RefNameAnnotation] = ImageNaming.TagOf(repoTag),
                },
            };
            await tar.AddFileAsync("index.json", OciLayoutContent.Index([entry]), cancellationToken).ConfigureAwait(false);
            await tar.AddFileAsync("oci-layout", OciLayoutContent.LayoutFile(), cancellationToken).ConfigureAwait(false);
        }

        await file.CommitAsync(cancellationToken).ConfigureAwait(false);
    }
}
