using System.Net;
using System.Net.Http.Headers;
using Sdk.Containers.Digests;
using Sdk.Containers.Images;

namespace Sdk.Containers.Registry;

/// <summary>A manifest as the registry served it: its exact bytes, the media type it said, the digest it announced.</summary>
public sealed record FetchedManifest(byte[] Bytes, string? MediaType, Digest? AnnouncedDigest);

/// <summary>
/// What the registry said to a manifest PUT: the digest it stored it as, when it says, and whether it took the
/// manifest's subject into its referrers API (the OCI-Subject header of distribution 1.1), when it did.
/// </summary>
public sealed record ManifestPutResult(Digest? Stored, Digest? IndexedSubject);

/// <summary>The manifests of a repository: get, put, and the referrers of a digest.</summary>
public sealed class ManifestClient
{
    // A manifest or index of this size is not one any registry should serve or a client read into memory.
    private const long MaxManifestSize = 4 * 1024 * 1024;

    private static readonly string[] ManifestTypes = [MediaTypes.OciIndex, MediaTypes.OciManifest, MediaTypes.DockerManifestList, MediaTypes.DockerManifest];

    private readonly RepositoryClient _repository;

    internal ManifestClient(RepositoryClient repository) => _repository = repository;

    /// <summary>The manifest or index under a tag or digest, null when the registry has none there.</summary>
    public async Task<FetchedManifest?> GetAsync(string tagOrDigest, CancellationToken cancellationToken)
    {
        var name = References.RepositoryLocation.NameOf(_repository.ToString(), tagOrDigest);
        using var request = RegistryHttp.NewRequest(HttpMethod.Get, _repository.Address($"manifests/{tagOrDigest}"));
        foreach (var type in ManifestTypes)
        {
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(type));
        }

        using var response = await _repository.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        RegistryErrors.EnsureSuccess(response, $"Fetching the manifest {name}");
        var bytes = await ReadBoundedAsync(response, $"The manifest {name}", cancellationToken).ConfigureAwait(false);
        var announced = response.Headers.TryGetValues("Docker-Content-Digest", out var values) && Digest.TryParse(values.FirstOrDefault(), out var digest) ? digest : (Digest?)null;
        return new FetchedManifest(bytes, response.Content.Headers.ContentType?.MediaType, announced);
    }

    /// <summary>Writes a manifest or index under a tag or digest.</summary>
    public async Task<ManifestPutResult> PutAsync(string tagOrDigest, byte[] bytes, string mediaType, CancellationToken cancellationToken)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        using var request = RegistryHttp.NewRequest(HttpMethod.Put, _repository.Address($"manifests/{tagOrDigest}"), content);
        using var response = await _repository.SendAsync(request, cancellationToken).ConfigureAwait(false);
        RegistryErrors.Expect(response, HttpStatusCode.Created, $"Writing the {(MediaTypes.IsIndex(mediaType) ? "index" : "manifest")} {References.RepositoryLocation.NameOf(_repository.ToString(), tagOrDigest)}");
        return new ManifestPutResult(HeaderDigest(response, "Docker-Content-Digest"), HeaderDigest(response, "OCI-Subject"));
    }

    private static Digest? HeaderDigest(HttpResponseMessage response, string header)
        => response.Headers.TryGetValues(header, out var values) && Digest.TryParse(values.FirstOrDefault(), out var digest) ? digest : null;

    /// <summary>
    /// The referrers of <paramref name="subject"/> (OCI distribution 1.1), optionally only those of one artifact type:
    /// an index of their descriptors. Null when the registry has no referrers API (404), so the caller can fall back to
    /// the referrers tag schema (sha256-&lt;hex&gt;).
    /// </summary>
    public async Task<ImageIndex?> GetReferrersAsync(Digest subject, string? artifactType, CancellationToken cancellationToken)
    {
        var path = artifactType is null ? $"referrers/{subject}" : $"referrers/{subject}?artifactType={Uri.EscapeDataString(artifactType)}";
        var what = $"The referrers of {_repository}@{subject}";
        using var request = RegistryHttp.NewRequest(HttpMethod.Get, _repository.Address(path));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(MediaTypes.OciIndex));
        using var response = await _repository.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        RegistryErrors.EnsureSuccess(response, $"Fetching the referrers of {_repository}@{subject}");
        return ImageJson.ParseIndex(await ReadBoundedAsync(response, what, cancellationToken).ConfigureAwait(false), what);
    }

    private static async Task<byte[]> ReadBoundedAsync(HttpResponseMessage response, string what, CancellationToken cancellationToken)
    {
        if (response.Content.Headers.ContentLength > MaxManifestSize)
        {
            throw RegistryErrors.TooLarge(what, response.Content.Headers.ContentLength, MaxManifestSize);
        }

        // A registry that sends no length (chunked) is held to the same bound while the bytes arrive.
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > MaxManifestSize)
            {
                throw RegistryErrors.TooLarge(what, null, MaxManifestSize);
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }
}
