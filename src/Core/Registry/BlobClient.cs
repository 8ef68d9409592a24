using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Sdk.Containers.Digests;

namespace Sdk.Containers.Registry;

/// <summary>The blobs of a repository: exists (HEAD), get (following redirects), mount from another repository, upload.</summary>
public sealed class BlobClient
{
    private static readonly HttpStatusCode[] Redirects = [HttpStatusCode.Redirect, HttpStatusCode.TemporaryRedirect, HttpStatusCode.PermanentRedirect, HttpStatusCode.MovedPermanently, HttpStatusCode.SeeOther];

    // A client of its own for redirect targets, so no registry credential can ride along to another host.
    private static readonly HttpClient RedirectClient = new(new SocketsHttpHandler { AllowAutoRedirect = false });

    private readonly RepositoryClient _repository;

    internal BlobClient(RepositoryClient repository) => _repository = repository;

    public async Task<bool> ExistsAsync(Digest digest, CancellationToken cancellationToken)
    {
        using var request = RegistryHttp.NewRequest(HttpMethod.Head, _repository.Address($"blobs/{digest}"));
        using var response = await _repository.SendAsync(request, cancellationToken).ConfigureAwait(false);
        return response.IsSuccessStatusCode;
    }

    /// <summary>
    /// The blob's bytes as they stream in, unverified: the caller checks them against the digest. Registries often
    /// redirect to a CDN; the redirect is followed without the registry's token.
    /// </summary>
    /// <param name="what">What the blob is, for messages ("Layer 2 of 5 (sha256:…) of app:1").</param>
    public async Task<Stream> GetAsync(Digest digest, string what, CancellationToken cancellationToken)
    {
        var response = await SendGetAsync(digest, null, cancellationToken).ConfigureAwait(false);
        try
        {
            RegistryErrors.EnsureSuccess(response, $"Fetching {what}");
            return new ResponseStream(response, await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false));
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    /// <summary>
    /// <paramref name="length"/> bytes of the blob: from <paramref name="offset"/> on, or its last bytes when
    /// <paramref name="offset"/> is null. Null when the blob is not there, is shorter, or the registry does not serve
    /// ranges (and would send the whole blob).
    /// </summary>
    public async Task<byte[]?> GetRangeAsync(Digest digest, long? offset, int length, CancellationToken cancellationToken)
    {
        var range = offset is { } from ? new RangeHeaderValue(from, from + length - 1) : new RangeHeaderValue(null, length);
        using var response = await SendGetAsync(digest, range, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.PartialContent || response.Content.Headers.ContentLength is { } announced && announced != length)
        {
            return null;
        }

        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var bytes = new byte[length];
        var read = await body.ReadAtLeastAsync(bytes, length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        return read == length ? bytes : null;
    }

    // Registries often redirect blobs to a CDN; the redirect is followed without the registry's token.
    private async Task<HttpResponseMessage> SendGetAsync(Digest digest, RangeHeaderValue? range, CancellationToken cancellationToken)
    {
        using var request = RegistryHttp.NewRequest(HttpMethod.Get, _repository.Address($"blobs/{digest}"));
        request.Headers.Range = range;
        var response = await _repository.SendAsync(request, cancellationToken).ConfigureAwait(false);
        try
        {
            for (var hops = 0; hops < 5 && Redirects.Contains(response.StatusCode); hops++)
            {
                var target = response.Headers.Location;
                var from = response.RequestMessage?.RequestUri;
                response.Dispose();
                if (target is null || from is null)
                {
                    throw RegistryErrors.RedirectWithoutLocation(_repository.Registry, $"the blob {digest}");
                }

                var absolute = target.IsAbsoluteUri ? target : new Uri(from, target);
                if (absolute.Scheme is not ("https" or "http"))
                {
                    throw RegistryErrors.RedirectScheme(_repository.Registry, $"the blob {digest}", absolute);
                }

                using var hop = new HttpRequestMessage(HttpMethod.Get, absolute);
                hop.Headers.Range = range;
                response = await RedirectClient.SendAsync(hop, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            }

            return response;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    /// <summary>Mounts the blob from another repository of this registry: null when mounted, else the upload the registry opened instead.</summary>
    public async Task<BlobUpload?> MountAsync(Digest digest, string fromRepository, CancellationToken cancellationToken)
        => await StartAsync($"blobs/uploads/?mount={digest}&from={Uri.EscapeDataString(fromRepository)}", digest, mount: true, cancellationToken).ConfigureAwait(false);

    /// <summary>Opens an upload session for <paramref name="digest"/>.</summary>
    public async Task<BlobUpload> StartUploadAsync(Digest digest, CancellationToken cancellationToken)
        => (await StartAsync("blobs/uploads/", digest, mount: false, cancellationToken).ConfigureAwait(false))!;

    private async Task<BlobUpload?> StartAsync(string path, Digest digest, bool mount, CancellationToken cancellationToken)
    {
        using var request = RegistryHttp.NewRequest(HttpMethod.Post, _repository.Address(path), new ByteArrayContent([]));
        using var response = await _repository.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (mount && response.StatusCode == HttpStatusCode.Created)
        {
            return null;
        }

        RegistryErrors.Expect(response, HttpStatusCode.Accepted, $"Starting the upload of {digest} to {_repository}");
        long minChunk = 0;
        if (response.Headers.TryGetValues("OCI-Chunk-Min-Length", out var values) && long.TryParse(values.FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out var min))
        {
            minChunk = min;
        }

        return new BlobUpload(_repository, digest, BlobUpload.Location(response), minChunk);
    }
}
