using System.Security.Cryptography;
using System.Text.Json;
using Sdk.Containers.Building;
using Sdk.Containers.Images;
using Sdk.Containers.Layers;
using Sdk.Containers.References;
using Sdk.Containers.Registry;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Integration;

/// <summary>
/// Many uploads at once through a token-auth registry whose tokens expire quickly: the proxy in front of it refuses a
/// token after a fixed number of uses (work done, not time), so refreshes land in the middle of chunked upload sessions
/// while other uploads are in flight with the same token.
/// </summary>
[Collection(EnvironmentCollection.Name)]
public sealed class TokenRefreshRaceTests(TestEnvironment env, Xunit.Abstractions.ITestOutputHelper output)
{
    private const string Repository = "race/app";
    // Uploads < TokenUses keeps the outcome deterministic: a fresh token always serves at least one request before
    // the proxy retires it, so "worked, then refused" always means expired and is refreshed once, never read as a
    // refusal of the credentials.
    private const int Uploads = 32;
    private const int TokenUses = 40;

    [Fact]
    public async Task ThirtyTwoParallelUploadsThroughExpiringTokensAllArriveAndShareEachRefresh()
    {
        env.Require();
        using var work = new TempDirectory();
        await using var issuer = new TokenIssuer(work.Combine("issuer"));
        using var registry = new RegistryServer(RegistryAuth.Token, issuer);
        await using var proxy = new FaultProxy(registry.Host)
        {
            TokenUses = TokenUses,
            TokenChallenge = $"Bearer realm=\"{issuer.Realm}\",service=\"{TokenIssuer.Service}\",scope=\"repository:{Repository}:pull,push\",error=\"invalid_token\"",
        };

        // Half the layers go up in one PUT, half in six 64 KiB chunks each, so expiries land mid-session.
        var store = new BlobStore(work.Combine("store"));
        var builder = ImageBuilder.FromScratch(new Platform { Os = "linux", Architecture = "amd64" }, ImageFormat.Oci);
        builder.Created = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);
        var layers = new List<Layer>();
        for (var i = 0; i < Uploads; i++)
        {
            var folder = work.Combine("layers", i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Directory.CreateDirectory(folder);
            await File.WriteAllBytesAsync(Path.Combine(folder, "data.bin"), RandomNumberGenerator.GetBytes(i % 2 == 0 ? 1024 : 6 * 64 * 1024 - 4096));
            var layer = await new LayerWriter(store).WriteAsync(LayerPlan.FromDirectory(folder, $"/layer{i}", $"layer {i}"), new LayerWriterOptions(), CancellationToken.None);
            layers.Add(layer);
            builder.AddLayer(layer, $"layer {i}");
        }

        var image = builder.Build();

        // Every credential lookup reads this variable first; a slow lookup widens the window for a second one.
        var lookups = 0;
        var credentials = new CredentialResolver(name =>
        {
            if (name == "DOTNET_CONTAINER_REGISTRY_UNAME")
            {
                Interlocked.Increment(ref lookups);
                Thread.Sleep(100);
            }

            return name switch
            {
                "SDK_CONTAINER_REGISTRY_UNAME" => RegistryServer.User,
                "SDK_CONTAINER_REGISTRY_PWORD" => RegistryServer.Password,
                "HOME" => work.Path,
                _ => null,
            };
        });

        var options = new RegistryOptions { ParallelBlobs = Uploads, MaxChunkSize = 64 * 1024 };
        PushResult result;
        using (var session = new RegistrySession(options, NullBuildLog.Instance, credentials))
        {
            result = await new RegistryPusher(session).PushAsync(image, new RepositoryLocation(proxy.Host, Repository), ["1"], CancellationToken.None);
        }

        // Counted now: skopeo below fetches tokens of its own.
        var fetches = issuer.Requests;

        Assert.Equal(image.ManifestDigest, result.ManifestDigest);
        Assert.Equal(Uploads + 1, result.BlobsUploaded);
        Assert.True(proxy.Count("PATCH", "/blobs/uploads/", status: 202) >= Uploads / 2 * 6, "the large layers went up in chunks");

        // Every blob is in the registry's storage under its digest and linked into the repository; the manifest is
        // what an independent client reads back.
        var root = Path.Combine(registry.StorageRoot, "docker", "registry", "v2");
        foreach (var digest in layers.Select(l => l.Descriptor.Digest).Append(image.ConfigDigest))
        {
            var data = Path.Combine(root, "blobs", "sha256", digest.Hex[..2], digest.Hex, "data");
            Assert.True(File.Exists(data), $"{digest} is not in the registry");
            Assert.Equal(digest.Hex, Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(data))));
            Assert.True(File.Exists(Path.Combine(root, "repositories", Repository, "_layers", "sha256", digest.Hex, "link")), $"{digest} is not linked into {Repository}");
        }

        var inspect = TestEnvironment.Run("/usr/bin/skopeo", ["inspect", "--tls-verify=false", $"--creds={RegistryServer.User}:{RegistryServer.Password}", $"docker://{registry.Host}/{Repository}:1"]).AssertSuccess();
        using (var json = JsonDocument.Parse(inspect.StandardOutput))
        {
            Assert.Equal(image.ManifestDigest.ToString(), json.RootElement.GetProperty("Digest").GetString());
        }

        // Tokens did expire mid-push, more than once; each expired token was replaced by one fetch, shared by every
        // request it refused, and the credential was looked up once.
        var counts = $"{fetches} token fetches, {proxy.TokensExpired} tokens expired, {proxy.ExpiredTokenRequests} requests refused an expired token";
        output.WriteLine(counts);
        Assert.True(proxy.TokensExpired >= 3, $"too few expiries to test anything: {counts}");
        Assert.True(fetches <= 1 + proxy.TokensExpired, $"more token fetches than expiries: {counts}");
        Assert.Equal(1, lookups);
    }
}
