using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Sdk.Containers.Digests;
using Sdk.Containers.Images;
using Sdk.Containers.References;

namespace Sdk.Containers.Registry;

public enum BlobPushOutcome
{
    Existed,
    Mounted,
    Uploaded,
}

public sealed record PushResult(RepositoryLocation Destination, IReadOnlyList<string> Tags, Digest ManifestDigest, long BytesUploaded, int BlobsUploaded, int BlobsMounted, int BlobsExisting);

/// <summary>
/// Pushes an image per the distribution spec: each blob is skipped when the registry has it (HEAD), mounted when it
/// came from another repository of the same registry, else uploaded (in one PUT, or PATCH chunks when larger than the
/// chunk limit); blobs go in parallel, the manifest last, once per tag. Until the manifest is written no tag changes,
/// so a failed push leaves what users can pull as it was.
/// </summary>
public sealed class RegistryPusher(RegistrySession session)
{
    public async Task<PushResult> PushAsync(Image image, RepositoryLocation destination, IReadOnlyList<string> tags, CancellationToken cancellationToken)
    {
        var client = session.For(destination.Registry);
        var mountSources = image.Layers
            .Select(l => l.Origin)
            .OfType<RepositoryLocation>()
            .Where(o => string.Equals(o.Registry, destination.Registry, StringComparison.OrdinalIgnoreCase) && o.Repository != destination.Repository)
            .Select(o => o.Repository)
            .Distinct()
            .ToArray();
        var scopes = new[] { RegistryClient.PushScope(destination.Repository) }.Concat(mountSources.Select(RegistryClient.PullScope)).ToArray();

        long bytes = 0;
        int uploaded = 0, mounted = 0, existing = 0;
        void Count(BlobPushOutcome outcome, long size)
        {
            switch (outcome)
            {
                case BlobPushOutcome.Uploaded:
                    Interlocked.Increment(ref uploaded);
                    Interlocked.Add(ref bytes, size);
                    break;
                case BlobPushOutcome.Mounted:
                    Interlocked.Increment(ref mounted);
                    break;
                default:
                    Interlocked.Increment(ref existing);
                    break;
            }
        }

        var layers = image.Layers.DistinctBy(l => l.Descriptor.Digest).ToArray();
        await Parallel.ForEachAsync(layers, new ParallelOptions { MaxDegreeOfParallelism = session.Options.ParallelBlobs, CancellationToken = cancellationToken }, async (layer, token) =>
        {
            var origin = layer.Origin is { } o && string.Equals(o.Registry, destination.Registry, StringComparison.OrdinalIgnoreCase) && o.Repository != destination.Repository ? o.Repository : null;
            var outcome = await PushBlobAsync(client, destination, layer.Descriptor.Digest, layer.Descriptor.Size, offset => OpenAt(layer.BlobPath, offset), origin, scopes, token).ConfigureAwait(false);
            Count(outcome, layer.Descriptor.Size);
            session.Log.Info($"Layer {layer.Descriptor.Digest.Hex[..12]} ({layer.Descriptor.Size:N0} bytes): {Describe(outcome, origin)}");
        }).ConfigureAwait(false);

        // An image copied unchanged (every layer from one repository of this registry) has its config there too.
        var origins = image.Layers.Select(l => l.Origin).Distinct().ToArray();
        var configOrigin = origins is [{ } only] && mountSources.Contains(only.Repository) ? only.Repository : null;
        var configOutcome = await PushBlobAsync(client, destination, image.ConfigDigest, image.ConfigBytes.Length, offset => new MemoryStream(image.ConfigBytes, (int)offset, image.ConfigBytes.Length - (int)offset, writable: false), configOrigin, scopes, cancellationToken).ConfigureAwait(false);
        Count(configOutcome, image.ConfigBytes.Length);

        foreach (var tag in tags)
        {
            await PutManifestAsync(client, destination, tag, image, scopes, cancellationToken).ConfigureAwait(false);
            session.Log.Info($"Pushed {Name(destination, tag)} ({image.ManifestDigest})");
        }

        return new PushResult(destination, tags, image.ManifestDigest, bytes, uploaded, mounted, existing);
    }

    /// <summary>repo:tag, or repo@sha256:… when the image is pushed by its digest.</summary>
    private static string Name(RepositoryLocation destination, string tagOrDigest)
        => Digest.TryParse(tagOrDigest, out _) ? $"{destination}@{tagOrDigest}" : $"{destination}:{tagOrDigest}";

    /// <summary>Pushes every platform's image by digest, then the index under each tag.</summary>
    public async Task<PushResult> PushIndexAsync(IReadOnlyList<Image> images, byte[] indexBytes, string indexMediaType, RepositoryLocation destination, IReadOnlyList<string> tags, CancellationToken cancellationToken)
    {
        long bytes = 0;
        int uploaded = 0, mounted = 0, existing = 0;
        foreach (var image in images)
        {
            var result = await PushAsync(image, destination, [image.ManifestDigest.ToString()], cancellationToken).ConfigureAwait(false);
            bytes += result.BytesUploaded;
            uploaded += result.BlobsUploaded;
            mounted += result.BlobsMounted;
            existing += result.BlobsExisting;
        }

        var client = session.For(destination.Registry);
        var digest = Digest.Compute(indexBytes);
        foreach (var tag in tags)
        {
            using var response = await client.SendAsync(b =>
            {
                var content = new ByteArrayContent(indexBytes);
                content.Headers.ContentType = new MediaTypeHeaderValue(indexMediaType);
                return new HttpRequestMessage(HttpMethod.Put, new Uri(b, $"v2/{destination.Repository}/manifests/{tag}")) { Content = content };
            }, [RegistryClient.PushScope(destination.Repository)], cancellationToken).ConfigureAwait(false);
            Expect(response, HttpStatusCode.Created, $"Writing the index {destination}:{tag}");
            session.Log.Info($"Pushed {Name(destination, tag)} ({digest}, an index of {images.Count} platforms)");
        }

        return new PushResult(destination, tags, digest, bytes, uploaded, mounted, existing);
    }

    private static string Describe(BlobPushOutcome outcome, string? origin) => outcome switch
    {
        BlobPushOutcome.Existed => "already in the registry",
        BlobPushOutcome.Mounted => $"mounted from {origin}",
        _ => "pushed",
    };

    private static Stream OpenAt(string path, long offset)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
        stream.Seek(offset, SeekOrigin.Begin);
        return stream;
    }

    private async Task<BlobPushOutcome> PushBlobAsync(RegistryClient client, RepositoryLocation destination, Digest digest, long size, Func<long, Stream> open, string? mountFrom, IReadOnlyList<string> scopes, CancellationToken cancellationToken)
    {
        using (var head = await client.SendAsync(b => new HttpRequestMessage(HttpMethod.Head, new Uri(b, $"v2/{destination.Repository}/blobs/{digest}")), scopes, cancellationToken).ConfigureAwait(false))
        {
            if (head.IsSuccessStatusCode)
            {
                return BlobPushOutcome.Existed;
            }
        }

        // An upload session that broke half-way cannot be trusted: the blob starts again in a new session.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await UploadAsync(client, destination, digest, size, open, mountFrom, scopes, cancellationToken).ConfigureAwait(false);
            }
            catch (ContainerException ex) when (attempt < 3 && ex.Code is ErrorCodes.RegistryError or ErrorCodes.RegistryUnreachable)
            {
                session.Log.Detail($"Blob {digest}: {ex.Message} Starting its upload again.");
                mountFrom = null;
            }
        }
    }

    private async Task<BlobPushOutcome> UploadAsync(RegistryClient client, RepositoryLocation destination, Digest digest, long size, Func<long, Stream> open, string? mountFrom, IReadOnlyList<string> scopes, CancellationToken cancellationToken)
    {
        var start = mountFrom is null
            ? $"v2/{destination.Repository}/blobs/uploads/"
            : $"v2/{destination.Repository}/blobs/uploads/?mount={digest}&from={Uri.EscapeDataString(mountFrom)}";
        Uri location;
        long minChunk = 0;
        using (var response = await client.SendAsync(b => new HttpRequestMessage(HttpMethod.Post, new Uri(b, start)) { Content = new ByteArrayContent([]) }, scopes, cancellationToken).ConfigureAwait(false))
        {
            if (response.StatusCode == HttpStatusCode.Created && mountFrom is not null)
            {
                return BlobPushOutcome.Mounted;
            }

            Expect(response, HttpStatusCode.Accepted, $"Starting the upload of {digest} to {destination}");
            location = UploadLocation(response);
            if (response.Headers.TryGetValues("OCI-Chunk-Min-Length", out var values) && long.TryParse(values.FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out var min))
            {
                minChunk = min;
            }
        }

        var chunk = Math.Max(session.Options.MaxChunkSize, minChunk);
        if (size > chunk)
        {
            for (long offset = 0; offset < size; offset += chunk)
            {
                var length = Math.Min(chunk, size - offset);
                var from = offset;
                using var response = await client.SendAsync(_ =>
                {
                    var content = new StreamContent(new BoundedStream(open(from), length));
                    content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                    content.Headers.ContentLength = length;
                    content.Headers.TryAddWithoutValidation("Content-Range", $"{from}-{from + length - 1}");
                    return new HttpRequestMessage(HttpMethod.Patch, location) { Content = content };
                }, scopes, cancellationToken).ConfigureAwait(false);
                Expect(response, HttpStatusCode.Accepted, $"Uploading bytes {from}-{from + length - 1} of {digest} to {destination}");
                location = UploadLocation(response);
                session.Log.Detail($"Blob {digest.Hex[..12]}: {from + length:N0} of {size:N0} bytes uploaded");
            }

            using var done = await client.SendAsync(_ => new HttpRequestMessage(HttpMethod.Put, WithDigest(location, digest)) { Content = new ByteArrayContent([]) }, scopes, cancellationToken).ConfigureAwait(false);
            Expect(done, HttpStatusCode.Created, $"Completing the upload of {digest} to {destination}");
        }
        else
        {
            using var response = await client.SendAsync(_ =>
            {
                var content = new StreamContent(new BoundedStream(open(0), size));
                content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                content.Headers.ContentLength = size;
                return new HttpRequestMessage(HttpMethod.Put, WithDigest(location, digest)) { Content = content };
            }, scopes, cancellationToken).ConfigureAwait(false);
            Expect(response, HttpStatusCode.Created, $"Uploading {digest} to {destination}");
        }

        return BlobPushOutcome.Uploaded;
    }

    private static async Task PutManifestAsync(RegistryClient client, RepositoryLocation destination, string tag, Image image, IReadOnlyList<string> scopes, CancellationToken cancellationToken)
    {
        using var response = await client.SendAsync(b =>
        {
            var content = new ByteArrayContent(image.ManifestBytes);
            content.Headers.ContentType = new MediaTypeHeaderValue(image.ManifestMediaType);
            return new HttpRequestMessage(HttpMethod.Put, new Uri(b, $"v2/{destination.Repository}/manifests/{tag}")) { Content = content };
        }, scopes, cancellationToken).ConfigureAwait(false);
        Expect(response, HttpStatusCode.Created, $"Writing the manifest {destination}:{tag}");
        if (response.Headers.TryGetValues("Docker-Content-Digest", out var values) && Digest.TryParse(values.FirstOrDefault(), out var stored) && stored != image.ManifestDigest)
        {
            throw new ContainerException(ErrorCodes.DigestMismatch, $"{destination.Registry} stored the manifest {destination}:{tag} as {stored}, not {image.ManifestDigest}.");
        }
    }

    private static Uri UploadLocation(HttpResponseMessage response)
    {
        var location = response.Headers.Location ?? throw new ContainerException(ErrorCodes.RegistryError, "The registry started an upload without a Location header.");
        return location.IsAbsoluteUri ? location : new Uri(response.RequestMessage!.RequestUri!, location);
    }

    private static Uri WithDigest(Uri location, Digest digest)
    {
        var builder = new UriBuilder(location);
        var digestParameter = "digest=" + Uri.EscapeDataString(digest.ToString());
        builder.Query = string.IsNullOrEmpty(builder.Query) ? digestParameter : builder.Query.TrimStart('?') + "&" + digestParameter;
        return builder.Uri;
    }

    private static void Expect(HttpResponseMessage response, HttpStatusCode status, string what)
    {
        if (response.StatusCode != status && !(status == HttpStatusCode.Accepted && response.StatusCode == HttpStatusCode.NoContent))
        {
            throw new ContainerException(ErrorCodes.RegistryError, $"{what} failed: the registry answered {(int)response.StatusCode} {response.ReasonPhrase}.");
        }
    }
}