using Sdk.Containers.Digests;
using Sdk.Containers.Images;
using Sdk.Containers.Layers;
using Sdk.Containers.References;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Registry;

/// <summary>
/// The layer blobs of images already in registries — the image at the tag being overwritten, and ContainerCacheFrom
/// images — offered by diff_id, so a fresh CI runner neither compresses nor uploads a layer the registry already holds.
/// An offer is taken only when the blob is the very bytes this build would write: it must begin with the first chunk
/// as our gzip writer compresses it and end with the CRC-32 and length of our own tar (two small range reads). So a
/// blob compressed by another tool or level, or a cache that pairs a diff_id with a wrong blob, is not taken: the
/// content is compressed instead, and the image is the one a build that compressed everything would make.
/// </summary>
public sealed class RegistryLayerBlobs : ILayerBlobSource
{
    private readonly RegistrySession _session;
    private readonly BlobStore _store;
    private readonly IReadOnlyList<ImageReference> _images;
    private readonly Platform _platform;
    private readonly string? _pushOnlyTo;
    private readonly IBuildLog _log;
    private readonly Lazy<Task<Dictionary<Digest, Offer>>> _offers;

    /// <param name="images">The images to read: the first offering a diff_id is the one asked for its blob.</param>
    /// <param name="pushOnlyTo">
    /// The one registry every output goes to, when every output is a push: a blob offered there stays there (it is
    /// already in the repository, or is mounted). Otherwise a taken blob is downloaded, which is still no compression.
    /// </param>
    public RegistryLayerBlobs(RegistrySession session, BlobStore store, IReadOnlyList<ImageReference> images, Platform platform, string? pushOnlyTo, IBuildLog log)
    {
        _session = session;
        _store = store;
        _images = images;
        _platform = platform;
        _pushOnlyTo = pushOnlyTo;
        _log = log;

        // Read when a layer first misses the build cache: a build whose layers are all cached asks the registry nothing.
        _offers = new(() => ReadOffersAsync(CancellationToken.None));
    }

    private sealed record Offer(Descriptor Blob, ImageReference From);

    public async Task<bool> AnyAsync(CancellationToken cancellationToken)
        => (await _offers.Value.WaitAsync(cancellationToken).ConfigureAwait(false)).Count > 0;

    // Each image costs a manifest and a config; one that is not there, or cannot be read, offers nothing and fails nothing.
    private async Task<Dictionary<Digest, Offer>> ReadOffersAsync(CancellationToken cancellationToken)
    {
        var puller = new RegistryPuller(_session, _store);
        var read = await Task.WhenAll(_images.Select(async image =>
        {
            try
            {
                return (image, (RemoteImage?)await puller.ReadAsync(image, _platform, cancellationToken).ConfigureAwait(false));
            }
            catch (Exception ex) when (ex is ContainerException or HttpRequestException or IOException)
            {
                _log.Detail(ex is ContainerException { Code: ErrorCodes.ImageNotFound } ? $"Layer reuse: there is no image {image} yet" : $"Layer reuse: {image} not used: {ex.Message}");
                return (image, null);
            }
        })).ConfigureAwait(false);

        var offers = new Dictionary<Digest, Offer>();
        foreach (var (image, remote) in read)
        {
            if (remote is null)
            {
                continue;
            }

            for (var i = 0; i < remote.Manifest.Layers.Count; i++)
            {
                var blob = remote.Manifest.Layers[i];
                if (blob.MediaType is MediaTypes.OciLayerGzip or MediaTypes.DockerLayerGzip)
                {
                    offers.TryAdd(remote.Config.RootFs.DiffIds[i], new Offer(blob, image));
                }
            }

            _log.Detail($"Layer reuse: {image} offers {remote.Manifest.Layers.Count} layers");
        }

        return offers;
    }

    public async Task<Layer?> FindAsync(LayerContent content, LayerCompressionSetting compression, CancellationToken cancellationToken)
    {
        // zstd frames are not written chunk by chunk, so there is no cheap proof that a zstd blob is our bytes.
        if (compression.Algorithm != LayerCompression.Gzip || !(await _offers.Value.WaitAsync(cancellationToken).ConfigureAwait(false)).TryGetValue(content.DiffId, out var offer))
        {
            return null;
        }

        var from = offer.From;
        var client = _session.For(from.Registry).ForPull(from.Repository);
        var prefix = content.GzipPrefix(compression.Level);
        var trailer = content.GzipTrailer();
        var blob = offer.Blob;
        var whole = content.Length < ParallelGzipStream.DefaultChunkSize;
        if (blob.Size < prefix.Length + trailer.Length || whole && blob.Size != prefix.Length + trailer.Length)
        {
            _log.Detail($"Layer reuse: {from} has {content.DiffId} as {blob.Digest}, which is not compressed as this build compresses ({compression}); compressing it");
            return null;
        }

        try
        {
            var head = await client.Blobs.GetRangeAsync(blob.Digest, 0, prefix.Length, cancellationToken).ConfigureAwait(false);
            var tail = head is null ? null : await client.Blobs.GetRangeAsync(blob.Digest, null, trailer.Length, cancellationToken).ConfigureAwait(false);
            if (head is null || tail is null)
            {
                _log.Detail($"Layer reuse: {from} did not serve parts of {blob.Digest}; compressing it");
                return null;
            }

            if (!head.AsSpan().SequenceEqual(prefix) || !tail.AsSpan().SequenceEqual(trailer))
            {
                _log.Detail($"Layer reuse: {from} has {content.DiffId} as {blob.Digest}, which is not the bytes this build writes ({compression}, or another content); compressing it");
                return null;
            }

            var origin = new RepositoryLocation(from.Registry, from.Repository);
            if (_pushOnlyTo is { } registry && string.Equals(registry, from.Registry, StringComparison.OrdinalIgnoreCase))
            {
                return Layer.InRegistry(blob, content.DiffId, origin) with { Source = LayerSource.Offered, OfferedBy = from };
            }

            // An output needs the bytes here: download them (checked against the digest as they arrive).
            await using var body = await client.Blobs.GetAsync(blob.Digest, $"the layer {blob.Digest} of {from}", cancellationToken).ConfigureAwait(false);
            var stored = await _store.ImportAsync(body, blob.Digest, $"the layer {blob.Digest} of {from}", cancellationToken).ConfigureAwait(false);
            return Layer.Create(stored.Path, blob.Digest, stored.Size, LayerCompression.Gzip, content.DiffId) with { Source = LayerSource.Offered, OfferedBy = from, Origin = origin };
        }
        catch (Exception ex) when (ex is ContainerException or IOException or HttpRequestException)
        {
            _log.Detail($"Layer reuse: {blob.Digest} from {from} not used: {ex.Message}");
            return null;
        }
    }
}
