using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Sdk.Containers.Images;
using Sdk.Containers.Registry;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Integration;

/// <summary>Registries send blobs through CDNs: redirects are followed, but never with the registry's token.</summary>
[Collection(EnvironmentCollection.Name)]
public sealed class RedirectTests(TestEnvironment env)
{
    /// <summary>A stand-in CDN: serves blobs straight from the registry's storage and records what it was sent.</summary>
    private sealed class Cdn : IAsyncDisposable
    {
        private readonly WebApplication _app;

        public Cdn(string registryStorage)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            _app = builder.Build();
            _app.MapGet("/blobs/{digest}", (HttpContext context, string digest) =>
            {
                Requests.Enqueue((digest, context.Request.Headers.Authorization.ToString()));
                var hex = digest["sha256:".Length..];
                var path = Path.Combine(registryStorage, "docker", "registry", "v2", "blobs", "sha256", hex[..2], hex, "data");
                return File.Exists(path) ? Results.File(path, "application/octet-stream") : Results.NotFound();
            });
            _app.StartAsync().GetAwaiter().GetResult();
            BaseUrl = _app.Urls.First();
        }

        public string BaseUrl { get; }

        public ConcurrentQueue<(string Digest, string Authorization)> Requests { get; } = new();

        public ValueTask DisposeAsync() => _app.DisposeAsync();
    }

    [Fact]
    public async Task BlobsRedirectedToAnotherHostArriveWithoutTheTokenAndOtherSchemesAreRefused()
    {
        env.Require();
        using var work = new TempDirectory();
        await using var issuer = new TokenIssuer(work.Combine("issuer"));
        using var registry = new RegistryServer(RegistryAuth.Token, issuer);
        registry.Seed($"oci:{env.BaseLayout}:runtime", "dotnet/runtime:10.0");
        await using var cdn = new Cdn(registry.StorageRoot);
        await using var proxy = new FaultProxy(registry.Host) { RedirectBlobsTo = cdn.BaseUrl };
        var credentials = new CredentialResolver(name => name switch
        {
            "SDK_CONTAINER_REGISTRY_UNAME" => RegistryServer.User,
            "SDK_CONTAINER_REGISTRY_PWORD" => RegistryServer.Password,
            "HOME" => work.Path,
            _ => null,
        });
        var reference = References.ImageReference.Parse($"{proxy.Host}/dotnet/runtime:10.0");

        using (var session = new RegistrySession(new RegistryOptions(), NullBuildLog.Instance, credentials))
        {
            var pulled = await new RegistryPuller(session, new BlobStore(work.Combine("cache"))).PullAsync(reference, Platform.FromRuntimeIdentifier("linux-x64"), CancellationToken.None);
            Assert.Equal(2, pulled.Image.Layers.Count);
        }

        Assert.True(cdn.Requests.Count >= 3, "the config and layers should have come from the CDN");
        Assert.All(cdn.Requests, r => Assert.Equal(string.Empty, r.Authorization));
        Assert.True(issuer.Requests > 0, "the registry's token service was used for the registry itself");

        proxy.RedirectBlobsTo = "ftp://127.0.0.1:21";
        using (var session = new RegistrySession(new RegistryOptions(), NullBuildLog.Instance, credentials))
        {
            var ex = await Assert.ThrowsAsync<ContainerException>(() => new RegistryPuller(session, new BlobStore(work.Combine("fresh"))).PullAsync(reference, Platform.FromRuntimeIdentifier("linux-x64"), CancellationToken.None));
            Assert.Contains("to a 'ftp:' address; only http and https are followed", ex.Message);
        }
    }
}
