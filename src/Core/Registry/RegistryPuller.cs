using System.Net;
using System.Net.Http.Headers;
using Sdk.Containers.Digests;
using Sdk.Containers.Images;
using Sdk.Containers.Layers;
using Sdk.Containers.References;
using Sdk.Containers.Sources;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Registry;

/// <summary>
/// Pulls an image into the blob store: the manifest (through an index to the target platform), the config and the
/// layers, each checked against its digest while it streams. Blobs already in the store are not fetched again, and
/// an image pinned by digest whose blobs are all stored needs no network at all.
/// </summary>
public sealed class RegistryPuller(RegistrySession session, BlobStore store)
{
    private const long MaxManifestSize = 4 * 1024 * 1024;

    // A client of its own for redirect targets, so no registry credential can ride along to another host.
    private static readonly HttpClient Redirects = new(new SocketsHttpHandler { AllowAutoRedirect = false });

    private static readonly string[] ManifestTypes = [MediaTypes.OciIndex, MediaTypes.OciManifest, MediaTypes.DockerManifestList, MediaTypes.DockerManifest];

    public async Task<LoadedImage> PullAsync(ImageReference reference, Platform platform, CancellationToken cancellationToken)
    {
        var name = reference.ToString();
        var client = session.For(reference.Registry);
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
        var location = new RepositoryLocation(reference.Registry, reference.Repository);
        var configBlob = await GetBlobAsync(client, location, manifest.Config, $"The config of {name}", cancellationToken).ConfigureAwait(false);
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

            paths[i] = (await GetBlobAsync(client, location, descriptor, $"Layer {i + 1} of {manifest.Layers.Count} ({descriptor.Digest}) of {name}", token).ConfigureAwait(false)).Path;
            Interlocked.Increment(ref fetched);
        }).ConfigureAwait(false);

        session.Log.Info($"Base image {name}: {manifest.Layers.Count} layers, {(fetched == 0 ? "all from the local cache" : $"{fetched} downloaded")}, {digest}");
        var layers = manifest.Layers.Select((d, i) => new Layer(paths[i], d, config.RootFs.DiffIds[i]) { Origin = location }).ToArray();
        return new LoadedImage(Image.FromExisting(config, configBytes, manifest, bytes, layers), name, name);
    }

    private async Task<(byte[] Bytes, string? MediaType, Digest Digest)> GetManifestAsync(RegistryClient client, ImageReference reference, string tagOrDigest, Digest? expected, CancellationToken cancellationToken)
    {
        var name = $"{reference.Registry}/{reference.Repository}:{tagOrDigest}";
        if (expected is { } pinned && store.TryGet(pinned, out var stored))
        {
            var cachedBytes = await File.ReadAllBytesAsync(stored.Path, cancellationToken).ConfigureAwait(false);
            return (cachedBytes, ImageJson.PeekMediaType(cachedBytes, name), pinned);
        }

        using var response = await client.SendAsync(baseUri =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, new Uri(baseUri, $"v2/{reference.Repository}/manifests/{tagOrDigest}"));
            foreach (var type in ManifestTypes)
            {
                request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(type));
            }

            return request;
        }, [RegistryClient.PullScope(reference.Repository)], cancellationToken).ConfigureAwait(false);

        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            throw new ContainerException(ErrorCodes.ImageNotFound, $"The image {name} was not found on {reference.Registry}; check the repository and tag.");
        }

        EnsureSuccess(response, $"Fetching the manifest {name}");
        if (response.Content.Headers.ContentLength > MaxManifestSize)
        {
            throw new ContainerException(ErrorCodes.RegistryError, $"The manifest {name} is {response.Content.Headers.ContentLength} bytes, too large for a manifest.");
        }

        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        var actual = Digest.Compute(bytes);
        if (expected is { } wanted && wanted != actual)
        {
            throw new ContainerException(ErrorCodes.DigestMismatch, $"The manifest {name} has digest {actual}, not {wanted}; the registry served other content than was asked for.");
        }

        if (response.Headers.TryGetValues("Docker-Content-Digest", out var values) && Digest.TryParse(values.FirstOrDefault(), out var announced) && announced != actual)
        {
            throw new ContainerException(ErrorCodes.DigestMismatch, $"The manifest {name} has digest {actual}, but the registry announced {announced}; the body was altered on the way.");
        }

        var mediaType = response.Content.Headers.ContentType?.MediaType;
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

    private async Task<StoredBlob> GetBlobAsync(RegistryClient client, RepositoryLocation location, Descriptor descriptor, string what, CancellationToken cancellationToken)
    {
        if (store.TryGet(descriptor.Digest, out var cached))
        {
            return cached;
        }

        for (var attempt = 1; ; attempt++)
        {
            try
            {
                using var response = await SendFollowingRedirectsAsync(client, location, descriptor.Digest, cancellationToken).ConfigureAwait(false);
                EnsureSuccess(response, $"Fetching {what}");
                await using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
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

    /// <summary>Registries often redirect blobs to a CDN; the token is for the registry only and is not sent there.</summary>
    private static async Task<HttpResponseMessage> SendFollowingRedirectsAsync(RegistryClient client, RepositoryLocation location, Digest digest, CancellationToken cancellationToken)
    {
        var response = await client.SendAsync(baseUri => new HttpRequestMessage(HttpMethod.Get, new Uri(baseUri, $"v2/{location.Repository}/blobs/{digest}")), [RegistryClient.PullScope(location.Repository)], cancellationToken).ConfigureAwait(false);
        for (var hops = 0; hops < 5 && response.StatusCode is HttpStatusCode.Redirect or HttpStatusCode.TemporaryRedirect or HttpStatusCode.PermanentRedirect or HttpStatusCode.MovedPermanently or HttpStatusCode.SeeOther; hops++)
        {
            var target = response.Headers.Location;
            var from = response.RequestMessage?.RequestUri;
            response.Dispose();
            if (target is null || from is null)
            {
                throw new ContainerException(ErrorCodes.RegistryError, $"{location.Registry} redirected the blob {digest} without saying where to.");
            }

            var absolute = target.IsAbsoluteUri ? target : new Uri(from, target);
            if (absolute.Scheme is not ("https" or "http"))
            {
                throw new ContainerException(ErrorCodes.RegistryError, $"{location.Registry} redirected the blob {digest} to a '{absolute.Scheme}:' address; only http and https are followed.");
            }

            response = await Redirects.GetAsync(absolute, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }

        return response;
    }

    internal static void EnsureSuccess(HttpResponseMessage response, string what)
    {
        if (!response.IsSuccessStatusCode)
        {
            throw new ContainerException(ErrorCodes.RegistryError, $"{what} failed: the registry answered {(int)response.StatusCode} {response.ReasonPhrase}.");
        }
    }
}
