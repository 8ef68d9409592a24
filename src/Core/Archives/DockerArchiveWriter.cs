using Sdk.Containers.Images;
using Sdk.Containers.IO;
using Sdk.Containers.References;

namespace Sdk.Containers.Archives;

/// <summary>
/// Writes a tarball for `docker load`. It carries both the classic manifest.json (read by Docker's own image store)
/// and an OCI layout (oci-layout, index.json, blobs), read by containerd-backed engines and by OCI tools, over one
/// set of blobs, the way `docker save` writes it since Docker 25.
/// </summary>
public static class DockerArchiveWriter
{
    public static async Task WriteAsync(Image image, IReadOnlyList<ImageReference> names, string path, DateTimeOffset timestamp, CancellationToken cancellationToken)
    {
        await using var file = AtomicFile.Create(path);
        await WriteToAsync(image, names, file.Stream, timestamp, cancellationToken).ConfigureAwait(false);
        await file.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Streams the tarball, e.g. straight into `docker load`, with no file in between.</summary>
    public static async Task WriteToAsync(Image image, IReadOnlyList<ImageReference> names, Stream output, DateTimeOffset timestamp, CancellationToken cancellationToken)
    {
        await using (var tar = new TarArchiveWriter(output, timestamp))
        {
            await OciLayoutContent.WriteBlobsAsync(tar, image, cancellationToken).ConfigureAwait(false);
            var entries = names.Count == 0
                ? [OciLayoutContent.IndexEntry(image, null)]
                : names.Select(n => OciLayoutContent.IndexEntry(image, n)).ToArray();
            var repoTags = names.Select(QualifiedRepoTag).OfType<string>().Distinct(StringComparer.Ordinal).ToArray();
            await tar.AddFileAsync("index.json", OciLayoutContent.Index(entries), cancellationToken).ConfigureAwait(false);
            var manifest = new List<DockerArchiveManifestEntry>
            {
                new()
                {
                    Config = OciLayoutContent.BlobPath(image.ConfigDigest),
                    RepoTags = repoTags.Length > 0 ? repoTags : null,
                    Layers = image.Layers.Select(l => OciLayoutContent.BlobPath(l.Descriptor.Digest)).ToArray(),
                },
            };
            await tar.AddFileAsync("manifest.json", ImageJson.Serialize(manifest), cancellationToken).ConfigureAwait(false);
            await tar.AddFileAsync("oci-layout", OciLayoutContent.LayoutFile(), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A RepoTags name with its registry always written (docker.io/team/app:1, not team/app:1): Docker normalizes it
    /// back to the familiar name on load, but Podman reads manifest.json whenever index.json holds more than one
    /// name, and puts localhost/ in front of a name without a registry.
    /// </summary>
    private static string? QualifiedRepoTag(ImageReference name) => name.Tag is null ? null : name.WithDigest(null).ToString();
}
