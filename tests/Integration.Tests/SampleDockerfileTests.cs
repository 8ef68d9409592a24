using Sdk.Containers.Archives;
using Sdk.Containers.Dockerfiles;

namespace Sdk.Containers.Integration;

/// <summary>The test SDK, runtime and aspnet images (made from this machine's .NET) in a registry of their own.</summary>
public sealed class SampleFixture : IDisposable
{
    private readonly Lazy<RegistryServer> _server = new(() =>
    {
        var env = new TestEnvironment();
        var server = new RegistryServer(RegistryAuth.None);
        server.Seed($"oci:{env.BaseLayout}:sdk", "dotnet/sdk:10.0");
        // runtime as the two-platform index (amd64 runtime, arm64 runtime), as mcr.microsoft.com serves it.
        server.Seed($"oci:{env.BaseLayout}:runtime-multi", "dotnet/runtime:10.0");
        server.Seed($"oci:{env.BaseLayout}:aspnet", "dotnet/aspnet:10.0");
        return server;
    });

    public TempDirectory Work { get; } = new();

    /// <summary>One cache for the class: the SDK is unpacked into its snapshot store once.</summary>
    public string Cache => Work.Combine("cache");

    public string Registry => _server.Value.Host;

    /// <summary>
    /// The dotnet/dotnet-docker sample (tests/Integration.Tests/Samples, copied in its upstream shape) in a new context,
    /// its FROM lines pointing at the test registry instead of mcr.microsoft.com; nothing else is changed.
    /// </summary>
    public string Context(string sample)
    {
        var context = Work.Combine("contexts", $"{sample}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path.GetDirectoryName(context)!);
        TestEnvironment.Run("cp", ["-a", Path.Combine(RepoPaths.Root, "tests", "Integration.Tests", "Samples", sample), context]).AssertSuccess();
        var dockerfile = Path.Combine(context, "Dockerfile");
        File.WriteAllText(dockerfile, File.ReadAllText(dockerfile).Replace("mcr.microsoft.com/dotnet/", $"{Registry}/dotnet/", StringComparison.Ordinal));

        // One fixed time on every file: the app records its sources' times (Last-Modified). (BuildKit's cache is keyed by
        // content only and would hand back the times of whichever checkout it built first, so it builds --no-cache.)
        TestEnvironment.Run("find", [context, "-exec", "touch", "-h", "-d", "@1704067200", "{}", "+"]).AssertSuccess();
        return context;
    }

    public async Task<DockerfileBuildResult> BuildAsync(string context, string? cache = null, Snapshotter? snapshotter = null, string? target = null, IBuildLog? log = null)
    {
        using var services = TestServices.For(cache ?? Cache, log);
        return await new DockerfileBuilder(services).BuildAsync(new DockerfileBuildRequest
        {
            ContextDirectory = context,
            Snapshotter = snapshotter,
            Target = target,
            Created = DateTimeOffset.FromUnixTimeSeconds(1700000000),
        }, CancellationToken.None);
    }

    public void Dispose()
    {
        if (_server.IsValueCreated)
        {
            _server.Value.Dispose();
        }

        Work.Dispose();
    }
}

/// <summary>
/// The official .NET sample Dockerfiles (dotnet/dotnet-docker samples/dotnetapp and samples/aspnetapp), as a new user
/// builds them: unchanged, equal to BuildKit's images, running; and rebuilt from the snapshot store.
/// </summary>
[Collection(EnvironmentCollection.Name)]
public sealed class SampleDockerfileTests(TestEnvironment env, SampleFixture fixture) : IClassFixture<SampleFixture>
{
    private async Task<string> LoadAsync(Images.Image image, string name)
    {
        var archive = fixture.Work.Combine($"{Guid.NewGuid():N}.tar");
        await DockerArchiveWriter.WriteAsync(image, [Sdk.Containers.References.ImageReference.Parse(name)], archive, DateTimeOffset.FromUnixTimeSeconds(1), CancellationToken.None);
        env.Docker("load", "-i", archive).AssertSuccess();
        File.Delete(archive);
        return name;
    }

    [Theory]
    [InlineData("dotnetapp")]
    [InlineData("aspnetapp")]
    public async Task TheOfficialSampleBuildsUnchangedRunsAndEqualsBuildKits(string sample)
    {
        env.Require();
        var context = fixture.Context(sample);
        var theirs = $"sample-buildkit-{sample}:1";

        // The test engine's BuildKit (Debian's Docker 20.10) predates COPY --link, which only changes how layers may be
        // rebased, not the files: it gets the Dockerfile without the flag; we build the upstream text as it is.
        var reference = fixture.Work.Combine($"{sample}-{Guid.NewGuid():N}.Dockerfile");
        File.WriteAllText(reference, File.ReadAllText(Path.Combine(context, "Dockerfile")).Replace("COPY --link ", "COPY ", StringComparison.Ordinal));
        TestEnvironment.Run("/usr/bin/docker", ["build", "--network", "none", "--no-cache", "-t", theirs, "-f", reference, context], new Dictionary<string, string> { ["DOCKER_BUILDKIT"] = "1" }, TimeSpan.FromMinutes(10)).AssertSuccess();

        // `dotnet publish` leaves the compiler server's socket in /tmp: the build must not trip over it.
        var result = await fixture.BuildAsync(context);
        var ours = await LoadAsync(result.Image, $"sample-ours-{sample}:1");

        var expectedSettings = DockerfileFixture.RunSettings(theirs);
        var actualSettings = DockerfileFixture.RunSettings(ours);
        Assert.Equal(expectedSettings, actualSettings);
        using var work = new TempDirectory();
        var expectedFiles = DockerfileFixture.ExportedFiles(theirs, work);
        var actualFiles = DockerfileFixture.ExportedFiles(ours, work);
        // ASP.NET Core's endpoint manifest records the time of the build for the assets it compresses during publish,
        // so no two builds agree on it; it is compared apart, with those times left out.
        const string Endpoints = "app/aspnetapp.staticwebassets.endpoints.json";
        if (sample == "aspnetapp")
        {
            var sources = Directory.EnumerateFiles(Path.Combine(context, "aspnetapp", "wwwroot"), "*", SearchOption.AllDirectories)
                .Select(f => Path.GetRelativePath(Path.Combine(context, "aspnetapp", "wwwroot"), f)).ToHashSet(StringComparer.Ordinal);
            Assert.Equal(EndpointsWithoutBuildTimes(theirs, Endpoints, sources, work), EndpointsWithoutBuildTimes(ours, Endpoints, sources, work));
        }

        var differences = expectedFiles.Keys.Union(actualFiles.Keys).Order(StringComparer.Ordinal)
            .Where(path => path != Endpoints && expectedFiles.GetValueOrDefault(path) != actualFiles.GetValueOrDefault(path))
            .Select(path => $"/{path}: BuildKit {expectedFiles.GetValueOrDefault(path) ?? "(absent)"}, ours {actualFiles.GetValueOrDefault(path) ?? "(absent)"}")
            .ToList();
        Assert.True(differences.Count == 0, $"{sample}: files differ:\n{string.Join('\n', differences.Take(40))}");
        Assert.Contains($"app/{sample}.dll", actualFiles.Keys);

        if (sample == "dotnetapp")
        {
            var run = env.Docker("run", "--rm", "--network", "none", ours).AssertSuccess();
            Assert.Contains("OSArchitecture", run.Output);
        }
        else
        {
            var container = env.Docker("run", "-d", "--network", "none", ours).AssertSuccess().StandardOutput.Trim();
            try
            {
                // The app listens on 8080 inside its own network namespace; busybox's wget asks it from there. (Its
                // home page looks the host up in DNS, which --network none cannot answer, in BuildKit's image too.)
                var health = env.Docker("exec", container, "sh", "-c", "for i in $(seq 1 60); do wget -qO- http://127.0.0.1:8080/healthz && exit 0; sleep 0.5; done; exit 1");
                health.AssertSuccess();
                Assert.Contains("Healthy", health.Output);
                var info = env.Docker("exec", container, "wget", "-qO-", "http://127.0.0.1:8080/Environment").AssertSuccess();
                Assert.Contains("\"user\":\"app\"", info.Output);
                var asset = env.Docker("exec", container, "wget", "-qO-", "http://127.0.0.1:8080/css/site.css").AssertSuccess();
                Assert.Contains("font-size", asset.Output);
            }
            finally
            {
                env.Docker("rm", "-f", container);
            }
        }
    }

    /// <summary>The endpoint manifest with the Last-Modified of assets made during the build (compressed and bundled
    /// ones) blanked; a source asset's Last-Modified is its file's time, which COPY must keep as BuildKit does.</summary>
    private string EndpointsWithoutBuildTimes(string image, string path, IReadOnlySet<string> sourceAssets, TempDirectory work)
    {
        var container = env.Docker("create", image).AssertSuccess().StandardOutput.Trim();
        var file = work.Combine($"endpoints-{Guid.NewGuid():N}.json");
        try
        {
            env.Docker("cp", $"{container}:/{path}", file).AssertSuccess();
        }
        finally
        {
            env.Docker("rm", "-f", container);
        }

        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(file))!;
        var uncompressedTimes = 0;
        foreach (var endpoint in json["Endpoints"]!.AsArray())
        {
            var headers = endpoint!["ResponseHeaders"]!.AsArray();
            var madeByTheBuild = !sourceAssets.Contains((string?)endpoint["AssetFile"] ?? string.Empty);
            foreach (var header in headers.Where(h => (string?)h!["Name"] == "Last-Modified"))
            {
                if (madeByTheBuild)
                {
                    header!["Value"] = "(build time)";
                }
                else
                {
                    uncompressedTimes++;
                }
            }
        }

        Assert.True(uncompressedTimes > 0, "the manifest lists assets with their own times");
        return json.ToJsonString();
    }

    [Fact]
    public void TheMultiArchPatternBuildsBothPlatformsOnThisMachineIntoOneIndex()
    {
        env.Require();
        var context = fixture.Context("dotnetapp");
        var reference = $"{fixture.Registry}/samples/dotnetapp:multi";
        var build = TestEnvironment.Cli(["build", context, "--platform", "linux/amd64,linux/arm64", "-t", reference, "--push", "--cache", fixture.Cache, "--progress", "plain"]).AssertSuccess();
        Assert.Contains("RUN dotnet publish -a arm64 --no-restore -o /app", build.Output); // the build stage ran on this machine for arm64

        var machines = IndexFiles.ElfMachines(reference, "app/dotnetapp");
        Assert.Equal(new Dictionary<string, int> { ["amd64"] = 0x3E, ["arm64"] = 0xB7 }, machines);
        env.Docker("pull", reference).AssertSuccess();
        var run = env.Docker("run", "--rm", "--network", "none", reference).AssertSuccess();
        Assert.Contains("OSArchitecture: X64", run.Output);
    }

    [Fact]
    public void ARunInAStageOfAnotherPlatformSaysWhatToDo()
    {
        env.Require();
        using var work = new TempDirectory();
        work.WriteFile("context/Dockerfile", $"FROM {fixture.Registry}/dotnet/runtime:10.0\nRUN echo hi\n");
        var build = TestEnvironment.Cli(["build", work.Combine("context"), "--platform", "linux/arm64", "--cache", fixture.Cache, "--progress", "plain"]);
        Assert.Equal(1, build.ExitCode);
        Assert.Contains("Dockerfile:2", build.Output);
        Assert.Contains("RUN for linux/arm64", build.Output);
        Assert.Contains("FROM --platform=$BUILDPLATFORM", build.Output);
    }

    [Fact]
    public async Task RebuildsComeFromTheSnapshotStoreAndTheFallbackMakesTheSameImage()
    {
        env.Require();
        var context = fixture.Context("dotnetapp");
        var cache = fixture.Work.Combine($"cache-{Guid.NewGuid():N}");
        var first = await fixture.BuildAsync(context, cache, Snapshotter.Overlayfs);
        Assert.Equal(Snapshotter.Overlayfs, first.Snapshotter);
        Assert.True(first.LayersUnpacked >= 4, $"a cold build unpacks the SDK's layers; it unpacked {first.LayersUnpacked}");

        // Nothing changed: every step from the cache, nothing mounted or unpacked.
        var unchanged = await fixture.BuildAsync(context, cache, Snapshotter.Overlayfs);
        Assert.Equal(0, unchanged.StepsRun);
        Assert.Equal(0, unchanged.Mounts);
        Assert.Equal(0, unchanged.LayersUnpacked);
        Assert.Equal(first.Image.ManifestDigest, unchanged.Image.ManifestDigest);

        // One line of Program.cs: the COPY and the publish run again on the snapshots, and no layer is unpacked.
        var program = Path.Combine(context, "Program.cs");
        File.WriteAllText(program, File.ReadAllText(program) + "\n// one more line\n");
        var changed = await fixture.BuildAsync(context, cache, Snapshotter.Overlayfs);
        Assert.Equal(0, changed.LayersUnpacked);
        Assert.True(changed.StepsRun >= 2, $"the COPY and the publish ran: {changed.StepsRun} steps");
        Assert.True(changed.Mounts > 0);

        // The same source on copied roots (the fallback) makes the same image, byte for byte.
        var fallback = await fixture.BuildAsync(context, fixture.Work.Combine($"cache-{Guid.NewGuid():N}"), Snapshotter.Native);
        Assert.Equal(Snapshotter.Native, fallback.Snapshotter);
        Assert.Equal(0, fallback.Mounts);
        Assert.Equal(changed.Image.ManifestDigest, fallback.Image.ManifestDigest);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(cache, "builds")));
    }
}
