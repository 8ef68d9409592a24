using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Sdk.Containers.Archives;
using Sdk.Containers.Building;
using Sdk.Containers.Images;
using Sdk.Containers.Layers;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Integration;

/// <summary>
/// Registry answers no honest registry gives (an unknown manifest media type, a token endpoint returning garbage),
/// served by a small hand-written endpoint since docker-registry will not produce them; and a push killed half-way
/// through the fault proxy, which must leave the registry without the image and the next push able to finish it.
/// </summary>
[Collection(EnvironmentCollection.Name)]
public sealed class HostileRegistryTests(TestEnvironment env)
{
    private static ProcessResult Cli(params string[] args) => TestEnvironment.Cli(args);

    [Fact]
    public void AManifestOfAnUnknownMediaTypeIsRefusedNamingIt()
    {
        env.Require();
        using var work = new TempDirectory();
        using var server = LocalHttpServer.Start((request, _) => request.Url!.AbsolutePath switch
        {
            "/v2/" => new(200, "application/json", "{}"u8.ToArray()),
            _ => new(200, "application/vnd.example.mystery+json", "{\"schemaVersion\": 2, \"mediaType\": \"application/vnd.example.mystery+json\"}"u8.ToArray()),
        });
        var result = Cli("pull", $"{server.Host}/odd/image:1", "--cache", work.Combine("cache"));
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("error CONTAINER2001:", result.Output);
        Assert.Contains("application/vnd.example.mystery+json", result.Output);
        Assert.DoesNotContain("   at ", result.Output);
    }

    [Fact]
    public void ATokenEndpointAnsweringGarbageFailsWithAMessageNotACrash()
    {
        env.Require();
        using var work = new TempDirectory();
        using var server = LocalHttpServer.Start((request, self) => request.Url!.AbsolutePath switch
        {
            "/token" => new(200, "application/json", "<html>this is not a token</html>"u8.ToArray()),
            _ => new(401, "application/json", "{\"errors\":[{\"code\":\"UNAUTHORIZED\"}]}"u8.ToArray(), new Dictionary<string, string> { ["WWW-Authenticate"] = $"Bearer realm=\"http://{self}/token\",service=\"test\",scope=\"repository:odd/image:pull\"" }),
        });
        var result = Cli("pull", $"{server.Host}/odd/image:1", "--cache", work.Combine("cache"));
        Assert.Equal(1, result.ExitCode);
        Assert.Matches(new Regex("error CONTAINER10(20|21|23):"), result.Output);
        Assert.Contains("token", result.Output, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("   at ", result.Output);
    }

    [Fact]
    public async Task APulledLayerThatIsNotWhatItsConfigSaysIsRefusedBeforeAnyUse()
    {
        env.Require();
        using var work = new TempDirectory();
        using var registry = new RegistryServer(RegistryAuth.None);

        // An image whose config lies about its layer: every blob matches its digest, the diff_id names other content.
        work.WriteFile("files/hello.txt", "hello");
        var store = new BlobStore(work.Combine("store"));
        var layer = await new LayerWriter(store).WriteAsync(LayerPlan.FromDirectory(work.Combine("files"), "/", "test"), new LayerWriterOptions(), CancellationToken.None);
        var lie = layer with { DiffId = Sdk.Containers.Digests.Digest.Compute("other content"u8.ToArray()) };
        var image = ImageBuilder.FromScratch(Platform.FromRuntimeIdentifier("linux-x64"), ImageFormat.Oci).AddLayer(lie, "a layer that is not what the config says").Build();
        await OciLayoutWriter.WriteAsync(image, Sdk.Containers.References.ImageReference.Parse("hostile/liar:1"), work.Combine("layout"), CancellationToken.None);
        registry.Seed($"oci:{work.Combine("layout")}:1", "hostile/liar:1");

        var pull = Cli("pull", $"{registry.Host}/hostile/liar:1", "--cache", work.Combine("cache"));
        Assert.Equal(1, pull.ExitCode);
        Assert.Contains("error CONTAINER1012: Layer 1 of 1", pull.Output);
        Assert.Contains("does not match its diff_id", pull.Output);

        // A Dockerfile on it stops there too, before any RUN unpacks the layer.
        var context = work.Combine("context");
        Directory.CreateDirectory(context);
        File.WriteAllText(Path.Combine(context, "Dockerfile"), $"FROM {registry.Host}/hostile/liar:1\nRUN echo never\n");
        var build = Cli("build", context, "--cache", work.Combine("cache2"), "--progress=plain");
        Assert.Equal(1, build.ExitCode);
        Assert.Contains("error CONTAINER1012:", build.Output);
        Assert.DoesNotContain("never", build.Output.Replace("RUN echo never", string.Empty, StringComparison.Ordinal));
    }

    [Fact]
    public async Task APushKilledHalfWayLeavesNoImageInTheRegistryAndTheNextPushFinishesIt()
    {
        env.Require();
        using var work = new TempDirectory();
        using var registry = new RegistryServer(RegistryAuth.None);
        await using var proxy = new FaultProxy(registry.Host);
        var cache = work.Combine("cache");
        var store = new BlobStore(cache);

        // A small layer that uploads at once and a 48 MB one (random, so it does not compress) that takes a while.
        var random = new byte[48 << 20];
        new Random(7).NextBytes(random);
        Directory.CreateDirectory(work.Combine("big"));
        await File.WriteAllBytesAsync(work.Combine("big", "data.bin"), random);
        work.WriteFile("small/hello.txt", "hello");
        var options = new LayerWriterOptions();
        var small = await new LayerWriter(store).WriteAsync(LayerPlan.FromDirectory(work.Combine("small"), "/small", "small"), options, CancellationToken.None);
        var big = await new LayerWriter(store).WriteAsync(LayerPlan.FromDirectory(work.Combine("big"), "/big", "big"), options, CancellationToken.None);
        var builder = ImageBuilder.FromScratch(new Platform { Os = "linux", Architecture = "amd64" }, ImageFormat.Oci);
        builder.Created = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);
        builder.AddLayer(small, "small").AddLayer(big, "big");
        var image = builder.Build();
        var archive = work.Combine("image.tar");
        await DockerArchiveWriter.WriteAsync(image, [Sdk.Containers.References.ImageReference.Parse("kill/app:1")], archive, DateTimeOffset.FromUnixTimeSeconds(1), CancellationToken.None);

        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { TestEnvironment.CliPath, "push", archive, $"{proxy.Host}/kill/app:1", "--cache", cache, "--chunk-size", "1048576" })
        {
            info.ArgumentList.Add(arg);
        }

        using var push = Process.Start(info)!;
        _ = push.StandardOutput.ReadToEndAsync();
        _ = push.StandardError.ReadToEndAsync();
        var clock = Stopwatch.StartNew();
        var killedMidUpload = false;
        while (!push.HasExited && clock.Elapsed < TimeSpan.FromMinutes(2))
        {
            if (Interlocked.Read(ref proxy.BytesReceived) > 8 << 20)
            {
                push.Kill(entireProcessTree: true);
                killedMidUpload = true;
                break;
            }

            await Task.Delay(2);
        }

        await push.WaitForExitAsync();
        Assert.True(killedMidUpload, "the push finished before it was killed; nothing was tested");
        Assert.True(Interlocked.Read(ref proxy.BytesReceived) < big.Descriptor.Size, "the big layer was already complete");

        // The registry is as it was: no manifest, so no tag.
        var inspect = TestEnvironment.Run("/usr/bin/skopeo", ["inspect", "--tls-verify=false", $"docker://{registry.Host}/kill/app:1"]);
        Assert.NotEqual(0, inspect.ExitCode);
        Assert.Equal(0, proxy.Count("PUT", "/manifests/"));

        // The local store is intact, and the next push completes, reusing the blobs that did arrive.
        foreach (var blob in Directory.EnumerateFiles(Path.Combine(cache, "blobs", "sha256")))
        {
            await using var stream = File.OpenRead(blob);
            Assert.Equal(Path.GetFileName(blob), Convert.ToHexStringLower(await System.Security.Cryptography.SHA256.HashDataAsync(stream)));
        }

        var again = Cli("push", archive, $"{registry.Host}/kill/app:1", "--cache", cache).AssertSuccess();
        Assert.Contains(image.ManifestDigest.ToString(), again.Output);
        var existing = int.Parse(Regex.Match(again.Output, @"(\d+) already there").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(existing >= 1, $"nothing uploaded before the kill was reused: {again.Output}");
        var verified = TestEnvironment.Run("/usr/bin/skopeo", ["inspect", "--tls-verify=false", $"docker://{registry.Host}/kill/app:1"]).AssertSuccess();
        Assert.Contains(image.ManifestDigest.ToString(), verified.StandardOutput);
    }
}
