using Sdk.Containers.Dockerfiles;
using Sdk.Containers.Dockerfiles.Caches;
using Sdk.Containers.References;

namespace Sdk.Containers.Integration;

/// <summary>
/// --cache-to and --cache-from: a fresh CI runner (an empty local cache) takes the steps an earlier build exported to
/// a directory or a registry, fetches their layers, and makes the same image without running them.
/// </summary>
[Collection(EnvironmentCollection.Name)]
public sealed class DockerfileCacheTests(TestEnvironment env, DockerfileFixture fixture) : IClassFixture<DockerfileFixture>
{
    // A build stage whose layers the final image does not hold, and a final stage that copies from it.
    private const string Dockerfile = "ARG BASE\nFROM ${BASE} AS build\nCOPY a.txt /a.txt\nRUN cat /a.txt > /built.txt\nFROM ${BASE}\nCOPY --from=build /built.txt /b.txt\nCOPY c.txt /c.txt\n";

    private static string Context(TempDirectory work)
    {
        work.WriteFile("context/Dockerfile", Dockerfile);
        work.WriteFile("context/a.txt", Guid.NewGuid().ToString());
        work.WriteFile("context/c.txt", "c");
        return work.Combine("context");
    }

    private async Task<(DockerfileBuildResult Result, IReadOnlyList<string> Log)> BuildAsync(string context, string cache, IReadOnlyList<string>? cacheTo = null, IReadOnlyList<string>? cacheFrom = null)
    {
        var log = new RecordingLog();
        using var services = ImageServices.Create(cache, new Registry.RegistryOptions(), log);
        var result = await new DockerfileBuilder(services).BuildAsync(new DockerfileBuildRequest
        {
            ContextDirectory = context,
            BuildArguments = new Dictionary<string, string> { ["BASE"] = fixture.BaseImage },
            Created = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000),
            CacheTo = (cacheTo ?? []).Select(c => CacheSpec.Parse(c, "--cache-to", export: true)).ToArray(),
            CacheFrom = (cacheFrom ?? []).Select(c => CacheSpec.Parse(c, "--cache-from", export: false)).ToArray(),
        }, CancellationToken.None);
        return (result, log.Lines);
    }

    [Fact]
    public async Task ALocalCacheInModeMaxGivesAFreshRunnerEveryStepAndModeMinOnlyTheFinalImagesLayers()
    {
        env.Require();
        using var work = new TempDirectory();
        var context = Context(work);
        var max = work.Combine("cache-max");
        var min = work.Combine("cache-min");
        var first = await BuildAsync(context, work.Combine("runner-1"), [$"type=local,dest={max},mode=max", $"type=local,dest={min}"]);
        Assert.Equal((4, 0), (first.Result.StepsRun, first.Result.StepsCached));
        Assert.True(File.Exists(Path.Combine(max, "index.json")));

        var fromMax = await BuildAsync(context, work.Combine("runner-2"), cacheFrom: [$"type=local,src={max}"]);
        Assert.Equal((0, 4, 4), (fromMax.Result.StepsRun, fromMax.Result.StepsCached, fromMax.Result.StepsImported));
        Assert.Equal(first.Result.Image.ManifestDigest, fromMax.Result.Image.ManifestDigest);

        // mode=min holds the final stage's layers only: the build stage runs again, the final stage's steps do not.
        var fromMin = await BuildAsync(context, work.Combine("runner-3"), cacheFrom: [$"type=local,src={min}"]);
        Assert.Equal((2, 2), (fromMin.Result.StepsRun, fromMin.Result.StepsImported));
        Assert.Equal(first.Result.Image.ManifestDigest, fromMin.Result.Image.ManifestDigest);

        // The cache is an OCI layout skopeo reads: one manifest whose config is ours.
        var inspect = TestEnvironment.Run("/usr/bin/skopeo", ["inspect", "--raw", $"oci:{max}:cache"]).AssertSuccess();
        Assert.Contains(StepCacheConfig.MediaType, inspect.StandardOutput);
    }

    [Fact]
    public async Task ARegistryCacheIsAPlainImageManifestAndAChangedFileRunsOnlyItsOwnSteps()
    {
        env.Require();
        using var work = new TempDirectory();
        var context = Context(work);
        var host = ImageReference.Parse(fixture.BaseImage).Registry;
        var cache = $"{host}/cache/app:buildcache-{Guid.NewGuid():N}"[..^20];
        var first = await BuildAsync(context, work.Combine("runner-1"), [$"type=registry,ref={cache},mode=max"]);
        Assert.Contains(first.Log, l => l.StartsWith($"Exported the build cache to {cache} (max): 4 steps", StringComparison.Ordinal));
        var raw = TestEnvironment.Run("/usr/bin/skopeo", ["inspect", "--raw", "--tls-verify=false", $"docker://{cache}"]).AssertSuccess();
        Assert.Contains("\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\"", raw.StandardOutput);
        Assert.Contains(StepCacheConfig.MediaType, raw.StandardOutput);

        // A fresh runner after a change to c.txt: only COPY c.txt runs.
        File.WriteAllText(Path.Combine(context, "c.txt"), "changed");
        var second = await BuildAsync(context, work.Combine("runner-2"), cacheFrom: [cache]);
        Assert.Equal((1, 3), (second.Result.StepsRun, second.Result.StepsImported));
        Assert.Contains(second.Log, l => l == $"Cache type=registry,ref={cache}: 4 steps");
    }

    [Theory]
    [InlineData("registry")]
    [InlineData("local")]
    public void RunnerBRunsNoRunWhoseInputsAreUnchangedAndRerunsThoseAfterAChangedCopy(string kind)
    {
        env.Require();
        using var work = new TempDirectory();
        work.WriteFile("context/Dockerfile", "ARG BASE\nFROM ${BASE}\nCOPY a.txt /a.txt\nRUN date +%s%N > /stamp-a\nCOPY b.txt /b.txt\nRUN date +%s%N > /stamp-b\n");
        work.WriteFile("context/a.txt", "a");
        work.WriteFile("context/b.txt", "b");
        var host = ImageReference.Parse(fixture.BaseImage).Registry;
        var id = Guid.NewGuid().ToString("N")[..8];
        var (to, from) = kind == "registry"
            ? ($"type=registry,ref={host}/cache/stamps:{id},mode=max", $"type=registry,ref={host}/cache/stamps:{id}")
            : ($"type=local,dest={work.Combine("ci-cache")},mode=max", $"type=local,src={work.Combine("ci-cache")}");
        ProcessResult Build(string runner, string flag, string cache, string files)
            => TestEnvironment.Cli(["build", work.Combine("context"), "--build-arg", $"BASE={fixture.BaseImage}", "-t", $"{host}/app/stamps:{id}-{runner}", "--push",
                "-o", $"type=local,dest={work.Combine(files)}", flag, cache, "--cache", work.Combine(runner), "--progress=plain"]).AssertSuccess();
        string Stamp(string files, string name) => File.ReadAllText(Path.Combine(work.Combine(files), name));

        // Runner A builds, exports its steps and pushes the image.
        Assert.Contains("4 steps run, 0 from the cache", Build("a", "--cache-to", to, "files-a").Output);

        // Runner B, an empty cache, the same inputs: no RUN runs, its files are A's.
        Assert.Contains("0 steps run, 4 from the cache (4 of them from --cache-from)", Build("b", "--cache-from", from, "files-b").Output);
        Assert.Equal(Stamp("files-a", "stamp-a"), Stamp("files-b", "stamp-a"));
        Assert.Equal(Stamp("files-a", "stamp-b"), Stamp("files-b", "stamp-b"));

        // Runner C after a change to b.txt: the RUN before it is A's, the COPY and RUN after it run again.
        File.WriteAllText(work.Combine("context/b.txt"), "changed");
        Assert.Contains("2 steps run, 2 from the cache (2 of them from --cache-from)", Build("c", "--cache-from", from, "files-c").Output);
        Assert.Equal(Stamp("files-a", "stamp-a"), Stamp("files-c", "stamp-a"));
        Assert.NotEqual(Stamp("files-a", "stamp-b"), Stamp("files-c", "stamp-b"));

        if (kind == "registry")
        {
            // The cache image survives skopeo copy to another registry, and a runner reading it there takes every step.
            using var other = new RegistryServer(RegistryAuth.None);
            TestEnvironment.Run("/usr/bin/skopeo", ["copy", "--quiet", "--src-tls-verify=false", "--dest-tls-verify=false", $"docker://{host}/cache/stamps:{id}", $"docker://{other.Host}/cache/stamps:copied"]).AssertSuccess();
            File.WriteAllText(work.Combine("context/b.txt"), "b");
            Assert.Contains("0 steps run, 4 from the cache (4 of them from --cache-from)", Build("d", "--cache-from", $"type=registry,ref={other.Host}/cache/stamps:copied", "files-d").Output);
            Assert.Equal(Stamp("files-a", "stamp-b"), Stamp("files-d", "stamp-b"));
        }
    }

    [Fact]
    public void AMultiPlatformBuildExportsTheStepsOfEveryPlatformIntoOneCache()
    {
        env.Require();
        using var work = new TempDirectory();
        work.WriteFile("context/Dockerfile", "FROM scratch\nARG TARGETARCH\nCOPY app.txt /\nCOPY ${TARGETARCH}.txt /arch.txt\n");
        work.WriteFile("context/app.txt", "the same on both");
        work.WriteFile("context/amd64.txt", "amd64");
        work.WriteFile("context/arm64.txt", "arm64");
        var cache = work.Combine("shared-cache");
        string[] Build(string runner, string cacheFlag, string value)
            => ["build", work.Combine("context"), "--platform", "linux/amd64,linux/arm64", cacheFlag, value, "--cache", work.Combine(runner), "--progress=plain"];

        var first = TestEnvironment.Cli(Build("runner-1", "--cache-to", $"type=local,dest={cache},mode=max")).AssertSuccess();
        Assert.Contains("Exported the build cache to " + cache + " (max): 4 steps", first.Output);

        // A fresh runner takes every step of both platforms from it, not only the last platform's.
        var fresh = TestEnvironment.Cli(Build("runner-2", "--cache-from", $"type=local,src={cache}")).AssertSuccess();
        Assert.Equal(2, System.Text.RegularExpressions.Regex.Matches(fresh.Output, @"0 steps run, 2 from the cache \(2 of them from --cache-from\)").Count);
    }

    [Fact]
    public async Task AMissingCacheIsNoErrorAndAnImageThatIsNoCacheIsAWarning()
    {
        env.Require();
        using var work = new TempDirectory();
        var context = Context(work);
        var host = ImageReference.Parse(fixture.BaseImage).Registry;
        var (result, log) = await BuildAsync(context, work.Combine("runner"), cacheFrom: [$"{host}/cache/none:1", fixture.BaseImage, $"type=local,src={work.Combine("nothing")}"]);
        Assert.Equal(4, result.StepsRun);
        Assert.Contains(log, l => l == $"Cache type=registry,ref={host}/cache/none:1: nothing there yet");
        Assert.Contains(log, l => l.StartsWith($"{ErrorCodes.CacheUnreadable}: Cache type=registry,ref={fixture.BaseImage} cannot be read", StringComparison.Ordinal) && l.Contains("it is not a build cache of ours", StringComparison.Ordinal));
    }
}
