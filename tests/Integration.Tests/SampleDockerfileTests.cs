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
        server.Seed($"oci:{env.BaseLayout}:runtime", "dotnet/runtime:10.0");
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
        return context;
    }

    public Task<DockerfileBuildResult> BuildAsync(string context, string? cache = null, Snapshotter? snapshotter = null, string? target = null, IBuildLog? log = null)
        => new DockerfileBuilder(log ?? NullBuildLog.Instance).BuildAsync(new DockerfileBuildRequest
        {
            ContextDirectory = context,
            CacheDirectory = cache ?? Cache,
            Snapshotter = snapshotter,
            Target = target,
            Created = DateTimeOffset.FromUnixTimeSeconds(1700000000),
        }, CancellationToken.None);

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
        await DockerArchiveWriter.WriteAsync(image, [name], archive, DateTimeOffset.FromUnixTimeSeconds(1), CancellationToken.None);
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
        TestEnvironment.Run("/usr/bin/docker", ["build", "--network", "none", "-t", theirs, "-f", reference, context], new Dictionary<string, string> { ["DOCKER_BUILDKIT"] = "1" }, TimeSpan.FromMinutes(10)).AssertSuccess();

        // `dotnet publish` leaves the compiler server's socket in /tmp: the build must not trip over it.
        var result = await fixture.BuildAsync(context);
        var ours = await LoadAsync(result.Image, $"sample-ours-{sample}:1");

        var expectedSettings = DockerfileFixture.RunSettings(theirs);
        var actualSettings = DockerfileFixture.RunSettings(ours);
        Assert.Equal(expectedSettings, actualSettings);
        using var work = new TempDirectory();
        var expectedFiles = DockerfileFixture.ExportedFiles(theirs, work);
        var actualFiles = DockerfileFixture.ExportedFiles(ours, work);
        var differences = expectedFiles.Keys.Union(actualFiles.Keys).Order(StringComparer.Ordinal)
            .Where(path => expectedFiles.GetValueOrDefault(path) != actualFiles.GetValueOrDefault(path))
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
                // The app listens on 8080 inside its own network namespace; busybox's wget asks it from there.
                var page = env.Docker("exec", container, "sh", "-c", "for i in $(seq 1 60); do wget -qO- http://127.0.0.1:8080/ && exit 0; sleep 0.5; done; exit 1");
                page.AssertSuccess();
                Assert.Contains("<html", page.Output, StringComparison.OrdinalIgnoreCase);
            }
            finally
            {
                env.Docker("rm", "-f", container);
            }
        }
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
