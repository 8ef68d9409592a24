using Sdk.Containers.Digests;
using Sdk.Containers.Images;

namespace Sdk.Containers.Supply;

/// <summary>The documents an OCI layout lists beside an image (index.json entries with an artifactType).</summary>
public static class LayoutReferrers
{
    public static async Task<IReadOnlyList<Referrer>> ReadAsync(string directory, Digest subject, CancellationToken cancellationToken)
    {
        var indexPath = Path.Combine(directory, "index.json");
        if (!File.Exists(indexPath))
        {
            return [];
        }

        var index = ImageJson.ParseIndex(await File.ReadAllBytesAsync(indexPath, cancellationToken).ConfigureAwait(false), indexPath);
        var found = new List<Referrer>();
        foreach (var entry in index.Manifests.Where(d => d.ArtifactType is not null))
        {
            var manifestBytes = await ReadBlobAsync(directory, entry.Digest, cancellationToken).ConfigureAwait(false);
            var manifest = ImageJson.ParseManifest(manifestBytes, $"{directory} ({entry.Digest})");
            if (manifest.Subject?.Digest != subject || manifest.Layers.Count != 1)
            {
                continue;
            }

            var document = await ReadBlobAsync(directory, manifest.Layers[0].Digest, cancellationToken).ConfigureAwait(false);
            found.Add(Referrer.FromExisting(manifestBytes, document, $"{directory} ({entry.Digest})"));
        }

        return found;
    }

    private static async Task<byte[]> ReadBlobAsync(string directory, Digest digest, CancellationToken cancellationToken)
    {
        var path = Path.Combine(directory, "blobs", digest.Algorithm, digest.Hex);
        var bytes = File.Exists(path) ? await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false) : null;
        return bytes is not null && Digest.Compute(bytes) == digest
            ? bytes
            : throw new ContainerException(ErrorCodes.ArchiveCorrupt, $"The OCI layout {directory} lists {digest}, but its blob is {(bytes is null ? "missing" : "not that content")}.");
    }
}
