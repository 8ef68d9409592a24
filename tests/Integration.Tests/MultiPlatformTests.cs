using System.Text.Json;

namespace Sdk.Containers.Integration;

/// <summary>ContainerRuntimeIdentifiers: one image per platform under one index.</summary>
[Collection(EnvironmentCollection.Name)]
public sealed class MultiPlatformTests(TestEnvironment env, RegistryFixture registry) : IClassFixture<RegistryFixture>
{
    [Fact]
    public void MultiRidPublishesInARowAndASingleRidOneBetweenThemAllSucceed()
    {
        env.Require();
        var host = registry.Server.Host;
        var project = env.CopyHelloForTwoPlatforms();
        var archive = Path.Combine(project, "image.tar");
        string[] common = ["-p:PublishContainer=true", $"-p:ContainerBaseImage={host}/dotnet/runtime-deps-multi:10.0", $"-p:ContainerArchiveOutputPath={archive}"];
        void Multi(string what, params string[] more)
        {
            File.Delete(archive);
            env.Publish(project, [.. common, .. more]).AssertSuccess(what);
            var platforms = IndexFiles.IndexJsonOfArchive(archive).GetProperty("manifests").GetArrayLength();
            Assert.Equal(1, platforms);
        }

        // Each publish restores as the last one left the assets file; the platforms' assets must be there every time.
        Multi("the first multi-RID publish");
        Multi("a second multi-RID publish in a row");
        Multi("a third, one platform after the other", "-p:ContainerPublishInParallel=false");
        env.Publish(project, [.. common, "-p:ContainerRuntimeIdentifier=linux-x64", "-p:RuntimeIdentifier=linux-x64"]).AssertSuccess("a single-RID publish after them");
        Multi("a multi-RID publish after the single-RID one");
    }

    [Fact]
    public void TwoRuntimeIdentifiersPushAnIndexWithBothPlatformsAndTheAmd64ImageRuns()
    {
        env.Require();
        var host = registry.Server.Host;
        var project = env.CopyHelloForTwoPlatforms();
        var tag = $"multi-{Guid.NewGuid():N}"[..16];
        var binlog = Path.Combine(project, "multi.binlog");
        var archive = Path.Combine(project, "multi.tar");
        env.Publish(project, [
            "-p:PublishContainer=true",
            $"-p:ContainerBaseImage={host}/dotnet/runtime-deps-multi:10.0",
            $"-p:ContainerRegistry={host}",
            $"-p:ContainerImageTags={tag}",
            $"-p:ContainerArchiveOutputPath={archive}",
            $"-bl:{binlog}",
        ]).AssertSuccess();

        // The archive names the index as a single-RID archive names its image: registry, repository and tag.
        var entry = IndexFiles.IndexJsonOfArchive(archive).GetProperty("manifests").EnumerateArray().Single();
        Assert.Equal("application/vnd.oci.image.index.v1+json", entry.GetProperty("mediaType").GetString());
        Assert.Equal($"{host}/hello:{tag}", entry.GetProperty("annotations").GetProperty("io.containerd.image.name").GetString());
        Assert.Equal(tag, entry.GetProperty("annotations").GetProperty("org.opencontainers.image.ref.name").GetString());
        TestEnvironment.Run("/usr/bin/skopeo", ["inspect", "--override-arch", "arm64", $"oci-archive:{archive}:{tag}"]).AssertSuccess();

        var raw = TestEnvironment.Run("/usr/bin/skopeo", ["inspect", "--raw", "--tls-verify=false", $"docker://{host}/hello:{tag}"]).AssertSuccess();
        using var index = JsonDocument.Parse(raw.StandardOutput);
        Assert.Equal("application/vnd.oci.image.index.v1+json", index.RootElement.GetProperty("mediaType").GetString());
        var platforms = index.RootElement.GetProperty("manifests").EnumerateArray()
            .Select(m => $"{m.GetProperty("platform").GetProperty("os").GetString()}/{m.GetProperty("platform").GetProperty("architecture").GetString()}")
            .Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(["linux/amd64", "linux/arm64"], platforms);

        // Each platform's image holds its own apphost: an arm64 ELF in the arm64 image.
        var arm = TestEnvironment.Run("/usr/bin/skopeo", ["inspect", "--tls-verify=false", "--override-arch", "arm64", $"docker://{host}/hello:{tag}"]).AssertSuccess();
        using (var armJson = JsonDocument.Parse(arm.StandardOutput))
        {
            Assert.Equal("arm64", armJson.RootElement.GetProperty("Architecture").GetString());
        }

        // Both RIDs were built in parallel inner builds, and our index task ran.
        Assert.Contains("PublishContainerIndex", Binlogs.TaskNames(binlog));
        Assert.Equal(2, Binlogs.TaskNames(binlog).Count(t => t == "BuildContainerImage"));

        var image = $"{host}/hello:{tag}";
        env.Docker("pull", image).AssertSuccess();
        try
        {
            var run = env.Docker("run", "--rm", "--network", "none", image).AssertSuccess();
            Assert.Contains("Hello from Sdk.Containers!", run.Output);
        }
        finally
        {
            env.Docker("rmi", "-f", image);
        }
    }
}
