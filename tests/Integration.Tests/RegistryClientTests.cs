using System.Security.Cryptography;
using System.Text.Json;
using Sdk.Containers.Images;
using Sdk.Containers;
using Sdk.Containers.Publishing;
using Sdk.Containers.Registry;
using Sdk.Containers.Sources;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Integration;

/// <summary>The registry client against a real registry, through the fault proxy that counts and breaks requests.</summary>
[Collection(EnvironmentCollection.Name)]
public sealed class RegistryClientTests(TestEnvironment env, RegistryFixture registry) : IClassFixture<RegistryFixture>
{
    private static readonly Platform Amd64 = Platform.FromRuntimeIdentifier("linux-x64");

    private ContainerPublishRequest Request(string publishDirectory, string baseRegistry, string pushRegistry, string repository, string cache) => new()
    {
        PublishDirectory = publishDirectory,
        BaseImage = $"{baseRegistry}/dotnet/runtime:10.0",
        AssemblyName = "app",
        Registry = pushRegistry,
        Repository = repository,
        Tags = ["1.0"],
        Compression = Layers.LayerCompressionSetting.Parse("gzip:1"),
        Created = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000),
    };

    private static string AppFolder(TempDirectory work, int megabytes, string name = "app")
    {
        var folder = work.Combine(name);
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "app.dll"), Guid.NewGuid().ToString());
        if (megabytes > 0)
        {
            // Random bytes do not compress: the layer is as big as the folder.
            File.WriteAllBytes(Path.Combine(folder, "data.bin"), RandomNumberGenerator.GetBytes(megabytes * 1024 * 1024));
        }

        return folder;
    }

    private static string SkopeoDigest(string reference)
    {
        var result = TestEnvironment.Run("/usr/bin/skopeo", ["inspect", "--tls-verify=false", $"docker://{reference}"]).AssertSuccess();
        using var json = JsonDocument.Parse(result.StandardOutput);
        return json.RootElement.GetProperty("Digest").GetString()!;
    }

    [Fact]
    public async Task PushingTwiceUploadsNothingAndAnotherRepositoryMountsTheBaseLayers()
    {
        env.Require();
        await using var proxy = new FaultProxy(registry.Server.Host);
        using var work = new TempDirectory();
        var app = AppFolder(work, 0);
        using var services = TestServices.For(work.Combine("cache"));
        var publisher = new ContainerPublisher(services);

        var first = await publisher.PublishAsync(Request(app, proxy.Host, proxy.Host, "twice/app", work.Combine("cache")), CancellationToken.None);
        Assert.True(first.Push!.BlobsUploaded >= 2, "the app layer and the config are new");
        Assert.Equal(first.Image.ManifestDigest.ToString(), SkopeoDigest($"{registry.Server.Host}/twice/app:1.0"));

        proxy.Reset();
        var second = await publisher.PublishAsync(Request(app, proxy.Host, proxy.Host, "twice/app", work.Combine("cache")), CancellationToken.None);
        Assert.Equal(first.Image.ManifestDigest, second.Image.ManifestDigest);
        Assert.Equal(0, second.Push!.BlobsUploaded);
        Assert.Equal(0, proxy.Count("POST", "/blobs/uploads/"));
        Assert.Equal(0, proxy.Count("PUT", "/blobs/uploads/"));
        Assert.Equal(0, proxy.Count("PATCH", "/blobs/uploads/"));

        proxy.Reset();
        var other = await publisher.PublishAsync(Request(app, proxy.Host, proxy.Host, "other/app", work.Combine("cache")), CancellationToken.None);
        var baseLayers = other.Image.Layers.Count - 1;
        Assert.Equal(baseLayers, other.Push!.BlobsMounted);
        Assert.Equal(baseLayers, proxy.Count("POST", "mount=", status: 201));
        Assert.Equal(other.Image.ManifestDigest.ToString(), SkopeoDigest($"{registry.Server.Host}/other/app:1.0"));
    }

    [Fact]
    public async Task AChunkedPushStaysUnderTheChunkLimitAndPullsBackVerified()
    {
        env.Require();
        await using var proxy = new FaultProxy(registry.Server.Host);
        using var work = new TempDirectory();
        const long limit = 5 * 1024 * 1024;
        using var services = TestServices.For(work.Combine("cache"), registryOptions: new RegistryOptions { MaxChunkSize = limit });
        var result = await new ContainerPublisher(services).PublishAsync(
            Request(AppFolder(work, 12), proxy.Host, proxy.Host, "chunked/app", work.Combine("cache")),
            CancellationToken.None);

        Assert.True(proxy.Count("PATCH", "/blobs/uploads/", status: 202) >= 3, "a 12 MB layer goes up in at least three 5 MB chunks");
        Assert.InRange(proxy.LargestRequestBody, 1, limit);
        Assert.Equal(result.Image.ManifestDigest.ToString(), SkopeoDigest($"{registry.Server.Host}/chunked/app:1.0"));

        using var session = new RegistrySession(new RegistryOptions(), NullBuildLog.Instance);
        var pulled = await new RegistryPuller(session, new BlobStore(work.Combine("fresh-cache"))).PullAsync(References.ImageReference.Parse($"{registry.Server.Host}/chunked/app:1.0"), Amd64, CancellationToken.None);
        Assert.Equal(result.Image.ManifestDigest, pulled.Image.ManifestDigest);
    }

    [Fact]
    public async Task AHundredMegabytePushThroughThirtyPercentFailuresCompletesAndVerifies()
    {
        env.Require();
        await using var proxy = new FaultProxy(registry.Server.Host);
        using var work = new TempDirectory();
        var app = AppFolder(work, 100);
        proxy.FailureRate = 0.3;
        using var services = TestServices.For(work.Combine("cache"), registryOptions: new RegistryOptions { MaxChunkSize = 16 * 1024 * 1024 });
        var result = await new ContainerPublisher(services).PublishAsync(
            Request(app, registry.Server.Host, proxy.Host, "flaky/app", work.Combine("cache")),
            CancellationToken.None);
        Assert.True(proxy.FaultsInjected > 0, "the proxy injected no fault");

        proxy.FailureRate = 0;
        Assert.Equal(result.Image.ManifestDigest.ToString(), SkopeoDigest($"{registry.Server.Host}/flaky/app:1.0"));
        var copy = work.Combine("skopeo-copy");
        TestEnvironment.Run("/usr/bin/skopeo", ["copy", "--src-tls-verify=false", $"docker://{registry.Server.Host}/flaky/app:1.0", $"oci:{copy}:x"], timeout: TimeSpan.FromMinutes(3)).AssertSuccess();

        proxy.FailureRate = 0.3;
        using var session = new RegistrySession(new RegistryOptions(), NullBuildLog.Instance);
        var pulled = await new RegistryPuller(session, new BlobStore(work.Combine("fresh-cache"))).PullAsync(References.ImageReference.Parse($"{proxy.Host}/flaky/app:1.0"), Amd64, CancellationToken.None);
        Assert.Equal(result.Image.ManifestDigest, pulled.Image.ManifestDigest);
        var loaded = await new ImageLoader(new BlobStore(work.Combine("verify-cache"))).LoadAllAsync(ImageSource.Parse($"oci:{copy}:x"), CancellationToken.None);
        Assert.Equal(result.Image.ConfigDigest, loaded.Single().Image.ConfigDigest);
    }

    [Fact]
    public async Task SlowAnswersPastTheTimeoutAreRetriedAndAlwaysSlowOnesFailInBoundedTime()
    {
        env.Require();
        using var work = new TempDirectory();
        var image = await TestImages.BuildAsync(work, new BlobStore(work.Combine("cache")));
        using (var plain = new RegistrySession(new RegistryOptions(), NullBuildLog.Instance))
        {
            await new RegistryPusher(plain).PushAsync(image, new References.RepositoryLocation(registry.Server.Host, "slow/app"), ["1"], CancellationToken.None);
        }

        await using var proxy = new FaultProxy(registry.Server.Host) { SlowRate = 0.3, SlowDelay = TimeSpan.FromSeconds(4) };
        var options = new RegistryOptions { RequestTimeout = TimeSpan.FromSeconds(1), RetryBaseDelay = TimeSpan.FromMilliseconds(50), MaxRetries = 8 };
        using (var session = new RegistrySession(options, NullBuildLog.Instance))
        {
            var pulled = await new RegistryPuller(session, new BlobStore(work.Combine("fresh"))).PullAsync(References.ImageReference.Parse($"{proxy.Host}/slow/app:1"), Amd64, CancellationToken.None);
            Assert.Equal(image.ManifestDigest, pulled.Image.ManifestDigest);
        }

        Assert.True(proxy.FaultsInjected > 0, "no answer was slowed");
        proxy.SlowRate = 1;
        using (var session = new RegistrySession(options with { MaxRetries = 2 }, NullBuildLog.Instance))
        {
            var ex = await Assert.ThrowsAsync<ContainerException>(() => new RegistryPuller(session, new BlobStore(work.Combine("other"))).PullAsync(References.ImageReference.Parse($"{proxy.Host}/slow/app:1"), Amd64, CancellationToken.None));
            Assert.Equal(ErrorCodes.RegistryUnreachable, ex.Code);
            // Giving up is bounded by attempts (MaxRetries + 1), which the message counts: no clock is asserted.
            Assert.Contains("did not answer within 1 s, after 3 attempts", ex.Message);
        }
    }

    [Fact]
    public async Task APullThroughAProxyThatFlipsABlobByteFailsNamingTheLayer()
    {
        env.Require();
        await using var proxy = new FaultProxy(registry.Server.Host) { FlipBlobBytes = true };
        using var work = new TempDirectory();
        using var session = new RegistrySession(new RegistryOptions(), NullBuildLog.Instance);
        var puller = new RegistryPuller(session, new BlobStore(work.Combine("cache")));
        var ex = await Assert.ThrowsAsync<ContainerException>(() => puller.PullAsync(References.ImageReference.Parse($"{proxy.Host}/dotnet/runtime:10.0"), Amd64, CancellationToken.None));
        Assert.Equal(ErrorCodes.DigestMismatch, ex.Code);
        Assert.Matches(@"(config|Layer \d of \d \(sha256:[0-9a-f]{64}\)) of 127\.0\.0\.1:\d+/dotnet/runtime:10\.0 has digest", ex.Message);
        // Nothing corrupt was kept: every blob in the cache hashes to its name.
        foreach (var blob in Directory.EnumerateFiles(work.Combine("cache", "blobs", "sha256")))
        {
            Assert.Equal(Path.GetFileName(blob), Digests.Digest.Compute(File.ReadAllBytes(blob)).Hex);
        }
    }

    [Fact]
    public async Task WithEveryRequestFailingThePushStopsAfterBoundedAttemptsSayingWhat()
    {
        env.Require();
        await using var proxy = new FaultProxy(registry.Server.Host) { FailureRate = 1.0 };
        using var work = new TempDirectory();
        using var services = TestServices.For(work.Combine("cache"));
        var ex = await Assert.ThrowsAsync<ContainerException>(() => new ContainerPublisher(services).PublishAsync(
            Request(AppFolder(work, 0), registry.Server.Host, proxy.Host, "down/app", work.Combine("cache")), CancellationToken.None));
        // Bounded by counting, not by the clock: every request is tried at most MaxRetries + 1 times; no new blob is
        // started once one has failed, so at most ParallelBlobs blobs each make their HEAD and UploadAttempts upload
        // sessions, besides the ping.
        var options = new RegistryOptions();
        var attempts = options.MaxRetries + 1;
        Assert.InRange(proxy.Requests.Count, 1, attempts + (options.ParallelBlobs * attempts * (1 + options.UploadAttempts)));
        Assert.All(proxy.Requests.Where(r => r.Method == "HEAD").GroupBy(r => r.Path), g => Assert.InRange(g.Count(), 1, attempts));
        Assert.Contains(proxy.Host, ex.Message);
    }

    [Fact]
    public async Task SeveralRegistriesEachGetTheImageAndOneThatFailsIsNamedWhileTheOthersArePushed()
    {
        env.Require();
        using var second = new RegistryServer(RegistryAuth.None);
        using var work = new TempDirectory();
        var app = AppFolder(work, 0);
        using var services = TestServices.For(work.Combine("cache"));
        var first = await new ContainerPublisher(services).PublishAsync(
            Request(app, registry.Server.Host, $"{registry.Server.Host}; {second.Host}", "many/app", work.Combine("cache")), CancellationToken.None);
        var digest = first.Image.ManifestDigest.ToString();
        Assert.Equal([registry.Server.Host, second.Host], first.Pushes.Select(p => p.Destination.Registry));
        Assert.Equal(digest, SkopeoDigest($"{registry.Server.Host}/many/app:1.0"));
        Assert.Equal(digest, SkopeoDigest($"{second.Host}/many/app:1.0"));
        Assert.True(first.Pushes[1].BlobsUploaded >= first.Image.Layers.Count, "a registry of its own gets every blob: nothing can be mounted across registries");

        // The second registry fails every request: the first still gets the new image, and the error names the second.
        await using var down = new FaultProxy(second.Host) { FailureRate = 1.0 };
        File.WriteAllText(Path.Combine(app, "app.dll"), "changed");
        var ex = await Assert.ThrowsAsync<ContainerException>(() => new ContainerPublisher(services).PublishAsync(
            Request(app, registry.Server.Host, $"{registry.Server.Host};{down.Host}", "many/app", work.Combine("cache")), CancellationToken.None));
        Assert.StartsWith($"The push to {down.Host} failed ({registry.Server.Host} has the image; the failed one keeps its tags as they were): ", ex.Message);
        Assert.NotEqual(digest, SkopeoDigest($"{registry.Server.Host}/many/app:1.0"));
        Assert.Equal(digest, SkopeoDigest($"{second.Host}/many/app:1.0"));
    }
}

/// <summary>Platform selection from a multi-platform index served by a real registry.</summary>
[Collection(EnvironmentCollection.Name)]
public sealed class RegistryIndexTests(TestEnvironment env, RegistryFixture registry) : IClassFixture<RegistryFixture>
{
    [Fact]
    public async Task PullPicksThePlatformFromAnIndexAndListsWhatItHasWhenMissing()
    {
        env.Require();
        using var work = new TempDirectory();
        var store = new BlobStore(work.Combine("cache"));
        var images = new List<Image>();
        foreach (var platform in new[] { Platform.FromRuntimeIdentifier("linux-x64"), Platform.FromRuntimeIdentifier("linux-arm64") })
        {
            using var source = new TempDirectory();
            source.WriteFile("files/etc/arch", platform.Architecture);
            var layer = await new Layers.LayerWriter(store).WriteAsync(Layers.LayerPlan.FromDirectory(source.Combine("files"), "/", "arch"), new Layers.LayerWriterOptions(), CancellationToken.None);
            images.Add(Building.ImageBuilder.FromScratch(platform, ImageFormat.Oci).AddLayer(layer, "arch").Build());
        }

        // An OCI layout whose index lists both images with their platforms; skopeo pushes the whole index.
        var layout = work.Combine("layout");
        foreach (var image in images)
        {
            await Archives.OciLayoutWriter.WriteAsync(image, null, layout, CancellationToken.None);
        }

        var index = ImageJson.Serialize(new ImageIndex { MediaType = MediaTypes.OciIndex, Manifests = images.Select(i => i.ManifestDescriptor(withPlatform: true)).ToArray() });
        var indexDigest = Digests.Digest.Compute(index);
        await File.WriteAllBytesAsync(Path.Combine(layout, "blobs", "sha256", indexDigest.Hex), index);
        var top = new ImageIndex
        {
            MediaType = MediaTypes.OciIndex,
            Manifests = [new Descriptor { MediaType = MediaTypes.OciIndex, Digest = indexDigest, Size = index.Length, Annotations = new Dictionary<string, string> { ["org.opencontainers.image.ref.name"] = "multi" } }],
        };
        await File.WriteAllBytesAsync(Path.Combine(layout, "index.json"), ImageJson.Serialize(top));
        TestEnvironment.Run("/usr/bin/skopeo", ["copy", "--all", "--dest-tls-verify=false", $"oci:{layout}:multi", $"docker://{registry.Server.Host}/multi/app:1"]).AssertSuccess();

        using var session = new RegistrySession(new RegistryOptions(), NullBuildLog.Instance);
        var puller = new RegistryPuller(session, new BlobStore(work.Combine("pull-cache")));
        var reference = References.ImageReference.Parse($"{registry.Server.Host}/multi/app:1");
        var arm = await puller.PullAsync(reference, Platform.FromRuntimeIdentifier("linux-arm64"), CancellationToken.None);
        Assert.Equal(images[1].ManifestDigest, arm.Image.ManifestDigest);
        var amd = await puller.PullAsync(reference, Platform.FromRuntimeIdentifier("linux-x64"), CancellationToken.None);
        Assert.Equal(images[0].ManifestDigest, amd.Image.ManifestDigest);

        var ex = await Assert.ThrowsAsync<ContainerException>(() => puller.PullAsync(reference, Platform.FromRuntimeIdentifier("linux-s390x"), CancellationToken.None));
        Assert.Equal(ErrorCodes.PlatformNotFound, ex.Code);
        Assert.Contains("linux/amd64, linux/arm64/v8", ex.Message);

        // Pinned by digest and cached: no registry is needed at all.
        var pinned = References.ImageReference.Parse($"127.0.0.1:1/multi/app@{images[0].ManifestDigest}");
        var offline = await new RegistryPuller(session, new BlobStore(work.Combine("pull-cache"))).PullAsync(pinned, Platform.FromRuntimeIdentifier("linux-x64"), CancellationToken.None);
        Assert.Equal(images[0].ManifestDigest, offline.Image.ManifestDigest);
    }
}
