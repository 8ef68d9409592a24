using Sdk.Containers.Digests;
using Sdk.Containers.Images;
using Sdk.Containers.Supply;

namespace Sdk.Containers.Registry;

/// <summary>
/// The documents attached to an image in a registry: listed by the referrers API where the registry has it, else by
/// the subject's sha256-&lt;hex&gt; tag; each read back and checked against its digests.
/// </summary>
public sealed class ReferrersReader(RepositoryClient repository)
{
    // SBOMs of large images run to a few MB; this bounds what a hostile registry can make us hold in memory.
    private const long MaxDocumentSize = 64L * 1024 * 1024;

    public async Task<IReadOnlyList<Descriptor>> ListAsync(Digest subject, CancellationToken cancellationToken)
    {
        if (await repository.Manifests.GetReferrersAsync(subject, null, cancellationToken).ConfigureAwait(false) is { } answered)
        {
            return answered.Manifests;
        }

        var tagged = await repository.Manifests.GetAsync(Referrer.FallbackTag(subject), cancellationToken).ConfigureAwait(false);
        return tagged is not null && MediaTypes.IsIndex(tagged.MediaType)
            ? ImageJson.ParseIndex(tagged.Bytes, $"{repository}:{Referrer.FallbackTag(subject)}").Manifests
            : [];
    }

    public async Task<Referrer> ReadAsync(Descriptor descriptor, CancellationToken cancellationToken)
    {
        var name = $"{repository}@{descriptor.Digest}";
        var fetched = await repository.Manifests.GetAsync(descriptor.Digest.ToString(), cancellationToken).ConfigureAwait(false)
            ?? throw new ContainerException(ErrorCodes.ImageNotFound, $"{name} is listed as a referrer but is not there.");
        if (Digest.Compute(fetched.Bytes) != descriptor.Digest)
        {
            throw new ContainerException(ErrorCodes.DigestMismatch, $"The registry served {name} with other content.");
        }

        var manifest = ImageJson.ParseManifest(fetched.Bytes, name);
        if (manifest.Layers is not [var layer] || layer.Size > MaxDocumentSize)
        {
            throw new ContainerException(ErrorCodes.UnsupportedMediaType, $"{name} is not a document attached as one layer of at most {MaxDocumentSize:N0} bytes.");
        }

        await using var stream = await repository.Blobs.GetAsync(layer.Digest, $"the document of {name}", cancellationToken).ConfigureAwait(false);
        var bytes = new byte[layer.Size + 1];
        var read = await stream.ReadAtLeastAsync(bytes, bytes.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        if (read != layer.Size || Digest.Compute(bytes.AsSpan(0, read)) != layer.Digest)
        {
            throw new ContainerException(ErrorCodes.DigestMismatch, $"The registry served the document of {name} with other content.");
        }

        return Referrer.FromExisting(fetched.Bytes, bytes[..read], name);
    }
}
