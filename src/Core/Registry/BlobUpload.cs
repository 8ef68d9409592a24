using System.Net;
using Sdk.Containers.Digests;

namespace Sdk.Containers.Registry;

/// <summary>
/// An upload session the registry opened for one blob: the bytes go in one PUT, or in PATCH chunks of at most the
/// chunk limit (or the registry's minimum, when larger) and a closing PUT. Each request's body is opened afresh from
/// the blob's file at its offset, so a retry sends it again without holding it in memory.
/// </summary>
public sealed class BlobUpload
{
    private readonly RepositoryClient _repository;
    private readonly Digest _digest;
    private readonly long _minChunk;
    private Uri _location;

    internal BlobUpload(RepositoryClient repository, Digest digest, Uri location, long minChunk)
    {
        _repository = repository;
        _digest = digest;
        _location = location;
        _minChunk = minChunk;
    }

    /// <param name="open">Opens the blob at an offset.</param>
    /// <param name="progress">Told the bytes sent so far after each chunk.</param>
    public async Task WriteAsync(long size, Func<long, Stream> open, CancellationToken cancellationToken, Action<long>? progress = null)
    {
        var chunk = Math.Max(_repository.Api.Options.MaxChunkSize, _minChunk);
        if (size <= chunk)
        {
            using var put = RegistryHttp.NewRequest(HttpMethod.Put, WithDigest(_location, _digest), new ReplayableContent(() => open(0), size));
            using var response = await _repository.SendAsync(put, cancellationToken).ConfigureAwait(false);
            RegistryErrors.Expect(response, HttpStatusCode.Created, $"Uploading {_digest} to {_repository}");
            return;
        }

        for (long offset = 0; offset < size; offset += chunk)
        {
            var length = Math.Min(chunk, size - offset);
            var from = offset;
            var content = new ReplayableContent(() => open(from), length);
            content.Headers.TryAddWithoutValidation("Content-Range", $"{from}-{from + length - 1}");
            using var patch = RegistryHttp.NewRequest(HttpMethod.Patch, _location, content);
            using var response = await _repository.SendAsync(patch, cancellationToken).ConfigureAwait(false);
            RegistryErrors.Expect(response, HttpStatusCode.Accepted, $"Uploading bytes {from}-{from + length - 1} of {_digest} to {_repository}");
            _location = Location(response);
            progress?.Invoke(from + length);
        }

        using var close = RegistryHttp.NewRequest(HttpMethod.Put, WithDigest(_location, _digest), new ByteArrayContent([]));
        using var done = await _repository.SendAsync(close, cancellationToken).ConfigureAwait(false);
        RegistryErrors.Expect(done, HttpStatusCode.Created, $"Completing the upload of {_digest} to {_repository}");
    }

    /// <summary>Where the session goes on: the Location of the last answer, relative to the request it answered.</summary>
    internal static Uri Location(HttpResponseMessage response)
    {
        var location = response.Headers.Location ?? throw RegistryErrors.NoUploadLocation();
        return location.IsAbsoluteUri ? location : new Uri(response.RequestMessage!.RequestUri!, location);
    }

    private static Uri WithDigest(Uri location, Digest digest)
    {
        var builder = new UriBuilder(location);
        var digestParameter = "digest=" + Uri.EscapeDataString(digest.ToString());
        builder.Query = string.IsNullOrEmpty(builder.Query) ? digestParameter : builder.Query.TrimStart('?') + "&" + digestParameter;
        return builder.Uri;
    }
}
