using System.Collections.Concurrent;
using System.Net;
using System.Security.Authentication;
using System.Text;
using Sdk.Containers.Digests;
using Sdk.Containers.Registry;

namespace Sdk.Containers.Tests;

/// <summary>The typed registry API and the scheme and retry handlers under it, against an in-process fake registry.</summary>
public class RegistryApiTests
{
    /// <summary>Answers each request with <see cref="Answer"/>, recording what was asked and the bodies sent.</summary>
    private sealed class FakeRegistry(Func<HttpRequestMessage, byte[], HttpResponseMessage> answer) : HttpMessageHandler
    {
        public ConcurrentQueue<(string Method, Uri Uri, byte[] Body, string? Range)> Requests { get; } = new();

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.RequestUri!.Scheme == "https" && request.RequestUri.Host == "127.0.0.1")
            {
                throw new HttpRequestException("The SSL connection could not be established", new AuthenticationException("not TLS"));
            }

            var body = request.Content is null ? [] : await request.Content.ReadAsByteArrayAsync(cancellationToken);
            var range = request.Content?.Headers.TryGetValues("Content-Range", out var values) == true ? values.Single() : null;
            Requests.Enqueue((request.Method.Method, request.RequestUri, body, range));
            var response = answer(request, body);
            response.RequestMessage = request;
            return response;
        }
    }

    private static RegistryApi Api(FakeRegistry fake, string registry = "127.0.0.1:5000", long chunk = 64 * 1024 * 1024)
        => new(registry, new RegistryOptions { MaxChunkSize = chunk, RetryBaseDelay = TimeSpan.FromMilliseconds(1) }, new CredentialResolver(_ => null), handler: fake);

    private static readonly Digest Subject = Digest.Compute("subject"u8);

    [Fact]
    public async Task ReferrersAreAnIndexOrNullWhereTheRegistryHasNoReferrersApi()
    {
        var index = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" + Digest.Compute("sbom"u8) + "\",\"size\":7,\"artifactType\":\"application/spdx+json\"}]}";
        using var fake = new FakeRegistry((request, _) => request.RequestUri!.AbsolutePath switch
        {
            "/v2/" => new HttpResponseMessage(HttpStatusCode.OK),
            var p when p.StartsWith("/v2/with/referrers/", StringComparison.Ordinal) => new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(index, Encoding.UTF8, "application/vnd.oci.image.index.v1+json") },
            _ => new HttpResponseMessage(HttpStatusCode.NotFound),
        });
        using var api = Api(fake);

        Assert.Null(await api.ForPull("without").Manifests.GetReferrersAsync(Subject, null, CancellationToken.None));
        var found = await api.ForPull("with").Manifests.GetReferrersAsync(Subject, "application/spdx+json", CancellationToken.None);
        Assert.Equal(Digest.Compute("sbom"u8), Assert.Single(found!.Manifests).Digest);
        Assert.Contains(fake.Requests, r => r.Uri.PathAndQuery == $"/v2/with/referrers/{Subject}?artifactType=application%2Fspdx%2Bjson");
    }

    [Fact]
    public async Task ALoopbackRegistryWithoutTlsIsPingedOnceAndThenSpokenToOverHttp()
    {
        using var fake = new FakeRegistry((request, _) => new HttpResponseMessage(request.RequestUri!.AbsolutePath == "/v2/" ? HttpStatusCode.OK : HttpStatusCode.NotFound));
        using var api = Api(fake);
        var repository = api.ForPull("app");
        var answers = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(() => repository.Blobs.ExistsAsync(Subject, CancellationToken.None))));

        Assert.All(answers, a => Assert.False(a));
        Assert.Single(fake.Requests, r => r.Uri.AbsolutePath == "/v2/");
        Assert.All(fake.Requests, r => Assert.Equal("http://127.0.0.1:5000", r.Uri.GetLeftPart(UriPartial.Authority)));
        Assert.Equal(16, fake.Requests.Count(r => r.Method == "HEAD"));
    }

    [Fact]
    public async Task AChunkedUploadSendsEachChunkFromItsOffsetAgainAfterA503AndClosesWithTheDigest()
    {
        var blob = Encoding.ASCII.GetBytes("0123456789");
        var digest = Digest.Compute(blob);
        var failed = 0;
        using var fake = new FakeRegistry((request, _) =>
        {
            var path = request.RequestUri!.AbsolutePath;
            if (request.Method == HttpMethod.Patch && Interlocked.Exchange(ref failed, 1) == 0)
            {
                return new HttpResponseMessage(HttpStatusCode.ServiceUnavailable);
            }

            var response = new HttpResponseMessage(path == "/v2/" ? HttpStatusCode.OK : request.Method == HttpMethod.Put ? HttpStatusCode.Created : HttpStatusCode.Accepted);
            if (path != "/v2/")
            {
                response.Headers.Location = new Uri("/v2/app/blobs/uploads/session?state=1", UriKind.Relative);
            }

            return response;
        });
        using var api = Api(fake, chunk: 4);
        var upload = await api.ForPush("app").Blobs.StartUploadAsync(digest, CancellationToken.None);
        await upload.WriteAsync(blob.Length, offset => new MemoryStream(blob, (int)offset, blob.Length - (int)offset), CancellationToken.None);

        var patches = fake.Requests.Where(r => r.Method == "PATCH").ToList();
        Assert.Equal(["0-3", "0-3", "4-7", "8-9"], patches.Select(p => p.Range));
        Assert.Equal(["0123", "0123", "4567", "89"], patches.Select(p => Encoding.ASCII.GetString(p.Body)));
        var close = fake.Requests.Single(r => r.Method == "PUT");
        Assert.Equal($"http://127.0.0.1:5000/v2/app/blobs/uploads/session?state=1&digest={Uri.EscapeDataString(digest.ToString())}", close.Uri.AbsoluteUri);
        Assert.Empty(close.Body);
    }
}
