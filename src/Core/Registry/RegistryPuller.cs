using Sdk.Containers.Digests;
using Sdk.Containers.Images;
using Sdk.Containers.Layers;
using Sdk.Containers.References;
using Sdk.Containers.Sources;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Registry;

/// <summary>An image's manifest and config as a registry holds them, each checked against its digest.</summary>
public sealed record RemoteImage(ImageManifest Manifest, byte[] ManifestBytes, Digest ManifestDigest, ImageConfig Config, byte[] ConfigBytes);

/// <summary>
/// Pulls an image into the blob store: the manifest (through an index to the target platform), the config and the
/// layers, each checked against its digest while it streams. Blobs already in the store are not fetched again, and
/// an image pinned by digest whose blobs are all stored needs no network at all.
/// </summary>
public sealed class RegistryPuller(RegistrySession session, BlobStore store)
{
    public async Task<LoadedImage> PullAsync(ImageReference reference, Platform platform, CancellationToken cancellationToken)
    {
        var name = reference.ToString();
        var client = session.For(reference.Registry).ForPull(reference.Repository);
        var (manifest, bytes, digest, config, configBytes) = await ReadAsync(client, reference, platform, cancellationToken).ConfigureAwait(false);
        var location = new RepositoryLocation(reference.Registry, reference.Repository);
        var paths = new string[manifest.Layers.Count];
        var fetched = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, manifest.Layers.Count), new ParallelOptions { MaxDegreeOfParallelism = session.Options.ParallelBlobs, CancellationToken = cancellationToken }, async (i, token) =>
        {
            var descriptor = manifest.Layers[i];
            if (store.TryGet(descriptor.Digest, out var cached))
            {
                paths[i] = cached.Path;
                return;
            }

            paths[i] = (await GetBlobAsync(client, descriptor, $"Layer {i + 1} of {manifest.Layers.Count} ({descriptor.Digest}) of {name}", token).ConfigureAwait(false)).Path;
            Interlocked.Increment(ref fetched);
        }).ConfigureAwait(false);

        session.Log.Info($"Base image {name}: {manifest.Layers.Count} layers, {(fetched == 0 ? "all from the local cache" : $"{fetched} downloaded")}, {digest}");
        var layers = manifest.Layers.Select((d, i) => new Layer(paths[i], d, config.RootFs.DiffIds[i]) { Origin = location }).ToArray();
        return new LoadedImage(Image.FromExisting(config, configBytes, manifest, bytes, layers), name, name);
    }

    /// <summary>
    /// The manifest (through an index to <paramref name="platform"/>) and config of an image, without its layers: what
    /// a build compares its own layers with. Throws <see cref="ErrorCodes.ImageNotFound"/> when there is none.
    /// </summary>
    public Task<RemoteImage> ReadAsync(ImageReference reference, Platform platform, CancellationToken cancellationToken)
        => ReadAsync(session.For(reference.Registry).ForPull(reference.Repository), reference, platform, cancellationToken);

    private async Task<RemoteImage> ReadAsync(RepositoryClient client, ImageReference reference, Platform platform, CancellationToken cancellationToken)
    {
        var name = reference.ToString();
        var (bytes, mediaType, digest) = await GetManifestAsync(client, reference, reference.Digest?.ToString() ?? reference.Tag ?? "latest", reference.Digest, cancellationToken).ConfigureAwait(false);
        if (MediaTypes.IsIndex(mediaType))
        {
            var index = ImageJson.ParseIndex(bytes, name);
            var match = index.Manifests.FirstOrDefault(m => m.Platform is { } p && platform.Accepts(p) && MediaTypes.IsManifest(m.MediaType))
                ?? throw new ContainerException(ErrorCodes.PlatformNotFound, $"{name} has no image for {platform}; its index has {string.Join(", ", index.Manifests.Select(m => m.Platform?.ToString() ?? "unknown"))}. Pick a ContainerRuntimeIdentifier it supports.");
            (bytes, mediaType, digest) = await GetManifestAsync(client, reference, match.Digest.ToString(), match.Digest, cancellationToken).ConfigureAwait(false);
        }

        if (!MediaTypes.IsManifest(mediaType))
        {
            throw new ContainerException(ErrorCodes.UnsupportedMediaType, $"{name} is a '{mediaType}', which is not an image manifest this tool can use.");
        }

        var manifest = ImageJson.ParseManifest(bytes, name);
        var configBlob = await GetBlobAsync(client, manifest.Config, $"The config of {name}", cancellationToken).ConfigureAwait(false);
        var configBytes = await File.ReadAllBytesAsync(configBlob.Path, cancellationToken).ConfigureAwait(false);
        var config = ImageJson.ParseConfig(configBytes, $"the config of {name}");
        if (!platform.Accepts(config.Platform))
        {
            throw new ContainerException(ErrorCodes.PlatformNotFound, $"{name} is an image for {config.Platform}, not {platform}.");
        }

        if (config.RootFs.DiffIds.Count != manifest.Layers.Count)
        {
            throw new ContainerException(ErrorCodes.ArchiveCorrupt, $"The manifest of {name} lists {manifest.Layers.Count} layers but its config has {config.RootFs.DiffIds.Count} diff_ids.");
        }

        return new RemoteImage(manifest, bytes, digest, config, configBytes);
    }

    private async Task<(byte[] Bytes, string? MediaType, Digest Digest)> GetManifestAsync(RepositoryClient client, ImageReference reference, string tagOrDigest, Digest? expected, CancellationToken cancellationToken)
    {
        var name = new RepositoryLocation(reference.Registry, reference.Repository).Name(tagOrDigest);
        if (expected is { } pinned && store.TryGet(pinned, out var stored))
        {
            var cachedBytes = await File.ReadAllBytesAsync(stored.Path, cancellationToken).ConfigureAwait(false);
            return (cachedBytes, ImageJson.PeekMediaType(cachedBytes, name), pinned);
        }

        var fetched = await client.Manifests.GetAsync(tagOrDigest, cancellationToken).ConfigureAwait(false)
            ?? throw new ContainerException(ErrorCodes.ImageNotFound, $"The image {name} was not found on {reference.Registry}; check the repository and tag.");
        var bytes = fetched.Bytes;
        var actual = Digest.Compute(bytes);
        if (expected is { } wanted && wanted != actual)
        {
            throw new ContainerException(ErrorCodes.DigestMismatch, $"The manifest {name} has digest {actual}, not {wanted}; the registry served other content than was asked for.");
        }

        if (fetched.AnnouncedDigest is { } announced && announced != actual)
        {
            throw new ContainerException(ErrorCodes.DigestMismatch, $"The manifest {name} has digest {actual}, but the registry announced {announced}; the body was altered on the way.");
        }

        var mediaType = fetched.MediaType;
        if (!MediaTypes.IsManifest(mediaType) && !MediaTypes.IsIndex(mediaType))
        {
            mediaType = ImageJson.PeekMediaType(bytes, name);
        }

        using (var content = new MemoryStream(bytes, writable: false))
        {
            await store.ImportAsync(content, actual, name, cancellationToken).ConfigureAwait(false);
        }

        return (bytes, mediaType, actual);
    }

    private async Task<StoredBlob> GetBlobAsync(RepositoryClient client, Descriptor descriptor, string what, CancellationToken cancellationToken)
    {
        if (store.TryGet(descriptor.Digest, out var cached))
        {
            return cached;
        }

        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var body = await client.Blobs.GetAsync(descriptor.Digest, what, cancellationToken).ConfigureAwait(false);
                var blob = await store.ImportAsync(body, descriptor.Digest, what, cancellationToken).ConfigureAwait(false);
                return blob.Size == descriptor.Size
                    ? blob
                    : throw new ContainerException(ErrorCodes.DigestMismatch, $"{what} is {blob.Size} bytes, but the manifest says {descriptor.Size}.");
            }
            catch (Exception ex) when (attempt < 3 && ex is IOException or HttpRequestException)
            {
                session.Log.Detail($"{what}: the download broke ({ex.Message}); starting it again");
            }
        }
    }
}
