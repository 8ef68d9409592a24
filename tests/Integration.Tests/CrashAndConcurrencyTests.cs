using System.Diagnostics;
using Sdk.Containers.Sources;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Integration;

/// <summary>Builds killed half-way and builds running side by side leave the cache and the outputs consistent.</summary>
[Collection(EnvironmentCollection.Name)]
public sealed class CrashAndConcurrencyTests(TestEnvironment env)
{
    /// <param name="requireBlobs">False right after a kill: the build may have died before its first blob was complete
    /// (layers are written at once, in an order nothing promises), and an empty store is consistent too.</param>
    private static void AssertCacheConsistent(string cache, bool requireBlobs = true)
    {
        var blobs = Path.Combine(cache, "blobs", "sha256");
        if (!requireBlobs && !Directory.Exists(blobs))
        {
            return;
        }

        Assert.True(Directory.Exists(blobs), "the cache holds no blobs");
        foreach (var blob in Directory.EnumerateFiles(blobs))
        {
            using var stream = File.OpenRead(blob);
            Assert.Equal(Path.GetFileName(blob), Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stream)));
        }
    }

    private static async Task AssertArchiveVerifiesAsync(string archive, string cache)
    {
        var loaded = await new ImageLoader(new BlobStore(cache), reverify: true).LoadAllAsync(ImageSource.Parse("docker-archive:" + archive), CancellationToken.None);
        Assert.NotEmpty(loaded);
    }

    [Fact]
    public async Task ABuildKilledWhileWritingALayerLeavesNoCorruptBlobAndNoArchiveAndTheNextBuildSucceeds()
    {
        env.Require();
        var project = env.CopySample("webapi");
        using var cache = new TempDirectory();
        var archive = Path.Combine(project, "out", "webapi.tar");
        string[] args = ["-r", "linux-x64", "--self-contained", $"-p:ContainerBaseImage=oci:{env.BaseLayout}:runtime-deps", $"-p:ContainerArchiveOutputPath={archive}", $"-p:ContainerCacheDirectory={cache.Path}"];
        env.Publish(project, args).AssertSuccess(); // build and publish once (no image), so the next run is the container step

        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        string[] arguments = ["publish", project, "-c", "Release", "--no-build", "-t:PublishContainer", "-nodeReuse:false", .. args];
        foreach (var arg in arguments)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        using var build = Process.Start(info)!;
        _ = build.StandardOutput.ReadToEndAsync();
        _ = build.StandardError.ReadToEndAsync();
        var temp = Path.Combine(cache.Path, "tmp");
        var clock = Stopwatch.StartNew();
        var killedWhileWriting = false;
        while (!build.HasExited && clock.Elapsed < TimeSpan.FromMinutes(2))
        {
            if (Directory.Exists(temp) && Directory.EnumerateFiles(temp, "*.partial").Any(f => new FileInfo(f).Length > 1_000_000))
            {
                build.Kill(entireProcessTree: true);
                killedWhileWriting = true;
                break;
            }

            await Task.Delay(5);
        }

        await build.WaitForExitAsync();
        Assert.True(killedWhileWriting, "the build finished before a layer was seen half-written; nothing was tested");
        Assert.False(File.Exists(archive), "a half-written archive was left at the output path");
        AssertCacheConsistent(cache.Path, requireBlobs: false);

        // Completed work is reused. Layers are written while the base is verified, so the kill may come before or
        // after the base's layers were all verified: the next build verifies again exactly when they were not.
        var records = Path.Combine(cache.Path, "index", "verified");
        var verifiedBefore = Directory.Exists(records) ? Directory.EnumerateFiles(records, "*.json").Count() : 0;
        var next = env.Publish(project, ["--no-build", "-t:PublishContainer", .. args]).AssertSuccess();
        var line = System.Text.RegularExpressions.Regex.Match(next.Output, @"Base image \S+: (?<layers>\d+) layers, (?<how>verified in an earlier build and unchanged since|verified),");
        Assert.True(line.Success, $"No base image line in:\n{next.Output}");
        Assert.Equal(verifiedBefore >= int.Parse(line.Groups["layers"].Value, System.Globalization.CultureInfo.InvariantCulture), line.Groups["how"].Value != "verified");
        await AssertArchiveVerifiesAsync(archive, cache.Path);
        AssertCacheConsistent(cache.Path);
    }

    [Fact]
    public async Task TwoPublishesAndTheCliAtOnceOnOneCacheAllSucceed()
    {
        env.Require();
        using var cache = new TempDirectory();
        var first = env.CopySample("hello");
        var second = env.CopySample("hello");
        Task<ProcessResult> Publish(string project) => Task.Run(() => env.Publish(project, [
            "-p:PublishContainer=true",
            $"-p:ContainerBaseImage=docker-archive:{Path.Combine(env.BaseImages, "runtime.tar")}",
            $"-p:ContainerArchiveOutputPath={Path.Combine(project, "out", "hello.tar")}",
            $"-p:ContainerCacheDirectory={cache.Path}",
        ]));
        var verify = Task.Run(() => TestEnvironment.Cli(["verify", Path.Combine(env.BaseImages, "aspnet.tar"), "--cache", cache.Path]));

        var results = await Task.WhenAll(Publish(first), Publish(second), verify);
        foreach (var result in results)
        {
            result.AssertSuccess();
        }

        await AssertArchiveVerifiesAsync(Path.Combine(first, "out", "hello.tar"), cache.Path);
        await AssertArchiveVerifiesAsync(Path.Combine(second, "out", "hello.tar"), cache.Path);
        AssertCacheConsistent(cache.Path);
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(cache.Path, "tmp")));
    }
}
