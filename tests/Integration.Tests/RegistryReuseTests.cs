using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Sdk.Containers.Digests;
using Sdk.Containers.Images;
using Sdk.Containers.Layers;
using Sdk.Containers.Publishing;
using Sdk.Containers.References;
using Sdk.Containers.Registry;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Integration;

/// <summary>
/// A fresh CI runner (an empty cache) pushing to a tag the registry already holds: layers whose blobs are there are
/// hashed, not compressed, not uploaded — and the image is byte for byte the one a build that compressed all would make.
/// </summary>
[Collection(EnvironmentCollection.Name)]
public sealed class RegistryReuseTests(TestEnvironment env, RegistryFixture registry) : IClassFixture<RegistryFixture>
{
    private static readonly Platform Amd64 = Platform.FromRuntimeIdentifier("linux-x64");

    private sealed class App : IDisposable
    {
        private readonly TempDirectory _work = new();

        public App()
        {
            Directory.CreateDirectory(Publish);
            Directory.CreateDirectory(Data);
            ChangeCode();

            // Random bytes, more than one gzip chunk: the layer the runner must not compress again.
            File.WriteAllBytes(Path.Combine(Data, "runtime.bin"), RandomNumberGenerator.GetBytes(3 * 1024 * 1024 + 12345));
        }

        public string Publish => _work.Combine("publish");

        public string Data => _work.Combine("data");

        public void ChangeCode() => File.WriteAllText(Path.Combine(Publish, "app.dll"), Guid.NewGuid().ToString());

        /// <summary>An empty cache directory: a fresh runner.</summary>
        public string FreshCache() => _work.Combine("cache-" + Guid.NewGuid().ToString("N")[..8]);

        public void Dispose() => _work.Dispose();
    }

    private static ContainerPublishRequest Request(App app, string host, string repository, string compression = "gzip:1") => new()
    {
        PublishDirectory = app.Publish,
        BaseImage = $"{host}/dotnet/runtime:10.0",
        AssemblyName = "app",
        Registry = host,
        Repository = repository,
        Tags = ["1.0"],
        Compression = LayerCompressionSetting.Parse(compression),
        Created = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000),
        ExtraLayers = [new ExtraLayer(app.Data, "/opt/runtime/")],

        // These tests count layer uploads; the documents a push attaches (new ones for each changed image) are
        // tested in SupplyChainTests.
        Sbom = "false",
        Provenance = "false",

        // The reference builds read the base through another host than the proxy: its name may not differ the images.
        BaseImageAnnotations = false,
    };

    private static async Task<(ContainerPublishResult Result, RecordingLog Log)> PublishAsync(ContainerPublishRequest request, string cache)
    {
        var log = new RecordingLog();
        using var services = ImageServices.Create(cache, new RegistryOptions(), log);
        return (await new ContainerPublisher(services).PublishAsync(request, CancellationToken.None), log);
    }

    /// <summary>Our own layers (the base's come first): the extra layer, then the app's.</summary>
    private static Layer[] Ours(ContainerPublishResult result) => result.Image.Layers.TakeLast(2).ToArray();

    private static int Uploads(FaultProxy proxy) => proxy.Count("POST", "/blobs/uploads/", status: 202);

    [Fact]
    public async Task AFreshRunnerTakesTheBlobsAtTheTargetTagAndUploadsOnlyWhatChanged()
    {
        env.Require();
        await using var proxy = new FaultProxy(registry.Server.Host);
        using var app = new App();
        var first = await PublishAsync(Request(app, proxy.Host, "reuse/app"), app.FreshCache());
        Assert.All(Ours(first.Result), l => Assert.Equal(LayerSource.Written, l.Source));

        // Nothing changed, on a new runner: no layer compressed, no blob uploaded, the same image.
        proxy.Reset();
        var again = await PublishAsync(Request(app, proxy.Host, "reuse/app"), app.FreshCache());
        Assert.Equal(first.Result.Image.ManifestDigest, again.Result.Image.ManifestDigest);
        Assert.All(Ours(again.Result), l => Assert.Equal((LayerSource.Offered, false), (l.Source, l.IsLocal)));
        Assert.Equal(0, Uploads(proxy));
        Assert.Contains(again.Log.Lines, l => l.Contains($"(reused from {proxy.Host}/reuse/app:1.0: hashed, not compressed, not uploaded)", StringComparison.Ordinal));

        // A one-line change on a new runner: only the app layer and the config go up.
        app.ChangeCode();
        proxy.Reset();
        var changed = await PublishAsync(Request(app, proxy.Host, "reuse/app"), app.FreshCache());
        var (runtime, code) = (Ours(changed.Result)[0], Ours(changed.Result)[1]);
        Assert.Equal(LayerSource.Offered, runtime.Source);
        Assert.Equal(LayerSource.Written, code.Source);
        Assert.Equal(2, changed.Result.Push!.BlobsUploaded);
        Assert.Equal(2, Uploads(proxy));

        // The image is the one a build that compressed everything makes.
        var reference = await PublishAsync(Request(app, registry.Server.Host, "reuse/reference") with { RegistryReuse = false }, app.FreshCache());
        Assert.All(Ours(reference.Result), l => Assert.Equal(LayerSource.Written, l.Source));
        Assert.Equal(reference.Result.Image.ManifestDigest, changed.Result.Image.ManifestDigest);
        await AssertPullsAndVerifiesAsync($"{registry.Server.Host}/reuse/app:1.0", changed.Result.Image.ManifestDigest);
    }

    [Fact]
    public async Task ABlobCompressedAtAnotherLevelIsNotTakenSoTheImageDoesNotChange()
    {
        env.Require();
        using var app = new App();
        var host = registry.Server.Host;
        await PublishAsync(Request(app, host, "reuse/level", "gzip:1"), app.FreshCache());

        var (result, log) = await PublishAsync(Request(app, host, "reuse/level", "gzip:6"), app.FreshCache());
        var reference = await PublishAsync(Request(app, host, "reuse/level-reference", "gzip:6") with { RegistryReuse = false }, app.FreshCache());

        Assert.All(Ours(result), l => Assert.Equal(LayerSource.Written, l.Source));
        Assert.Contains(log.Lines, l => l.Contains("which is not the bytes this build writes", StringComparison.Ordinal));
        Assert.Equal(reference.Result.Image.ManifestDigest, result.Image.ManifestDigest);
    }

    [Fact]
    public async Task ACacheImageThatPairsOurDiffIdsWithOtherBlobsIsNotTaken()
    {
        env.Require();
        var host = registry.Server.Host;
        using var app = new App();
        using var other = new App();
        var real = await PublishAsync(Request(app, host, "lie/real"), app.FreshCache());
        await PublishAsync(Request(other, host, "lie/other"), other.FreshCache());

        // A lying cache: the config (and so the diff_ids) of the real image, the layer blobs of the other one.
        await ForgeAsync(host, configFrom: "lie/real:1.0", layersFrom: "lie/other", into: "lie/cache");

        var (result, log) = await PublishAsync(Request(app, host, "lie/result") with { CacheFrom = [$"{host}/lie/cache:1.0"] }, app.FreshCache());
        Assert.All(Ours(result), l => Assert.Equal(LayerSource.Written, l.Source));
        Assert.Contains(log.Lines, l => l.Contains($"Layer reuse: {host}/lie/cache:1.0 has", StringComparison.Ordinal) && l.Contains("which is not the bytes this build writes", StringComparison.Ordinal));
        Assert.Equal(real.Result.Image.ManifestDigest, result.Image.ManifestDigest);
        await AssertPullsAndVerifiesAsync($"{host}/lie/result:1.0", result.Image.ManifestDigest);
    }

    [Fact]
    public async Task ACacheFromImageOfAnotherRepositoryIsMountedAndAnArchiveOutputDownloadsItsBlobs()
    {
        env.Require();
        var host = registry.Server.Host;
        using var app = new App();
        await PublishAsync(Request(app, host, "branch/main"), app.FreshCache());
        app.ChangeCode();

        var pushed = await PublishAsync(Request(app, host, "branch/feature") with { CacheFrom = [$"{host}/branch/main:1.0"] }, app.FreshCache());
        Assert.Equal((LayerSource.Offered, false), (Ours(pushed.Result)[0].Source, Ours(pushed.Result)[0].IsLocal));
        Assert.True(pushed.Result.Push!.BlobsMounted >= 1, "the reused blob is mounted from branch/main");
        await AssertPullsAndVerifiesAsync($"{host}/branch/feature:1.0", pushed.Result.Image.ManifestDigest);

        // An archive needs the bytes: the blob is downloaded, still not compressed, and the archive is the same image.
        using var out1 = new TempDirectory();
        var archived = await PublishAsync(Request(app, host, "branch/feature") with { Registry = null, ArchiveOutputPath = out1.Combine("a.tar"), CacheFrom = [$"{host}/branch/main:1.0"] }, app.FreshCache());
        Assert.Equal((LayerSource.Offered, true), (Ours(archived.Result)[0].Source, Ours(archived.Result)[0].IsLocal));
        Assert.Contains(archived.Log.Lines, l => l.Contains("hashed, downloaded, not compressed", StringComparison.Ordinal));
        Assert.Equal(pushed.Result.Image.ManifestDigest, archived.Result.Image.ManifestDigest);
        TestEnvironment.Run("/usr/bin/skopeo", ["inspect", $"docker-archive:{out1.Combine("a.tar")}"]).AssertSuccess();
    }

    [Fact]
    public async Task ABadCacheFromReferenceFailsNamingIt()
    {
        env.Require();
        using var app = new App();
        var ex = await Assert.ThrowsAsync<ContainerException>(() => PublishAsync(Request(app, registry.Server.Host, "reuse/bad") with { CacheFrom = ["Not A Reference"] }, app.FreshCache()));
        Assert.Equal(ErrorCodes.InvalidImageReference, ex.Code);
        Assert.Contains("ContainerCacheFrom image 'Not A Reference'", ex.Message);
    }

    /// <summary>Pulls into an empty store and checks every layer's blob against its diff_id, as `verify` does.</summary>
    private static async Task AssertPullsAndVerifiesAsync(string reference, Digest expected)
    {
        using var store = new TempDirectory();
        using var session = new RegistrySession(new RegistryOptions(), NullBuildLog.Instance);
        var pulled = await new RegistryPuller(session, new BlobStore(store.Path)).PullAsync(ImageReference.Parse(reference), Amd64, CancellationToken.None);
        Assert.Equal(expected, pulled.Image.ManifestDigest);
        foreach (var layer in pulled.Image.Layers)
        {
            await LayerVerifier.CheckAsync(layer.BlobPath, layer.Descriptor.Digest.ToString(), layer.DiffId, CancellationToken.None);
        }
    }

    private static async Task ForgeAsync(string host, string configFrom, string layersFrom, string into)
    {
        using var session = new RegistrySession(new RegistryOptions(), NullBuildLog.Instance);
        var api = session.For(host);
        var source = ImageReference.Parse($"{host}/{configFrom}");
        using var store = new TempDirectory();
        var real = await new RegistryPuller(session, new BlobStore(store.Path)).ReadAsync(source, Amd64, CancellationToken.None);
        var otherManifest = (await api.ForPull(layersFrom).Manifests.GetAsync("1.0", CancellationToken.None))!;
        var manifest = JsonNode.Parse(otherManifest.Bytes)!;
        var target = api.ForPush(into, [layersFrom, source.Repository]);
        foreach (var layer in manifest["layers"]!.AsArray())
        {
            var upload = await target.Blobs.MountAsync(Digest.Parse((string)layer!["digest"]!), layersFrom, CancellationToken.None);
            Assert.Null(upload);
        }

        var configDigest = Digest.Compute(real.ConfigBytes);
        Assert.Null(await target.Blobs.MountAsync(configDigest, source.Repository, CancellationToken.None));
        manifest["config"]!["digest"] = configDigest.ToString();
        manifest["config"]!["size"] = real.ConfigBytes.Length;
        await target.Manifests.PutAsync("1.0", Encoding.UTF8.GetBytes(manifest.ToJsonString()), otherManifest.MediaType!, CancellationToken.None);
    }
}
