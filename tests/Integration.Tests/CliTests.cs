using System.Text.Json;
using Sdk.Containers.Archives;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Integration;

/// <summary>`dotnet containerize` push, copy, inspect, pull and verify against a real registry and skopeo/umoci.</summary>
[Collection(EnvironmentCollection.Name)]
public sealed class CliTests(TestEnvironment env, RegistryFixture registry) : IClassFixture<RegistryFixture>
{
    private static ProcessResult Cli(params string[] args) => TestEnvironment.Cli(args);

    /// <summary>What the README says of the tarball as an oci-archive for skopeo, checked both ways.</summary>
    [Theory]
    [InlineData(Images.ImageFormat.Oci)]
    [InlineData(Images.ImageFormat.Docker)]
    public async Task TheTarballIsAnOciArchiveSkopeoReadsByTagOnlyForOciImages(Images.ImageFormat format)
    {
        env.Require();
        using var work = new TempDirectory();
        var image = await TestImages.BuildAsync(work, new BlobStore(work.Combine("cache")), format);
        var archive = work.Combine("image.tar");
        await DockerArchiveWriter.WriteAsync(image, [Sdk.Containers.References.ImageReference.Parse("team/x:t1")], archive, DateTimeOffset.FromUnixTimeSeconds(1), CancellationToken.None);

        // Without a tag skopeo takes the only image; docker-archive: selects by name whatever the format.
        Assert.Contains(image.ManifestDigest.ToString(), TestEnvironment.Run("/usr/bin/skopeo", ["inspect", $"oci-archive:{archive}"]).AssertSuccess().StandardOutput);
        TestEnvironment.Run("/usr/bin/skopeo", ["inspect", $"docker-archive:{archive}:team/x:t1"]).AssertSuccess();

        // By tag, skopeo matches OCI manifests only: a Docker-format image is "no descriptor found" (skopeo 1.9).
        var byTag = TestEnvironment.Run("/usr/bin/skopeo", ["inspect", $"oci-archive:{archive}:t1"]);
        if (format == Images.ImageFormat.Oci)
        {
            Assert.Contains(image.ManifestDigest.ToString(), byTag.AssertSuccess().StandardOutput);
        }
        else
        {
            Assert.NotEqual(0, byTag.ExitCode);
            Assert.Contains("no descriptor found", byTag.Output);
        }
    }

    [Fact]
    public async Task PushCopyInspectAndPullAgreeWithSkopeo()
    {
        env.Require();
        using var work = new TempDirectory();
        var cache = work.Combine("cache");
        var image = await TestImages.BuildAsync(work, new BlobStore(cache));
        var archive = work.Combine("image.tar");
        await DockerArchiveWriter.WriteAsync(image, [Sdk.Containers.References.ImageReference.Parse("cli/app:1")], archive, DateTimeOffset.FromUnixTimeSeconds(1), CancellationToken.None);
        var host = registry.Server.Host;

        var push = Cli("push", archive, $"{host}/cli/app:1", "--cache", cache).AssertSuccess();
        Assert.Contains(image.ManifestDigest.ToString(), push.Output);
        var skopeo = TestEnvironment.Run("/usr/bin/skopeo", ["inspect", "--tls-verify=false", $"docker://{host}/cli/app:1"]).AssertSuccess();
        using (var json = JsonDocument.Parse(skopeo.StandardOutput))
        {
            Assert.Equal(image.ManifestDigest.ToString(), json.RootElement.GetProperty("Digest").GetString());
        }

        var copy = Cli("copy", $"{host}/cli/app:1", $"{host}/cli/copied:2", "--cache", work.Combine("other-cache")).AssertSuccess();
        Assert.Contains("0 blobs uploaded (0 bytes), 2 mounted", copy.Output);
        Assert.Contains(image.ManifestDigest.ToString(), copy.Output);

        var inspect = Cli("inspect", $"{host}/cli/copied:2", "--json", "--cache", cache).AssertSuccess();
        using (var json = JsonDocument.Parse(inspect.StandardOutput))
        {
            Assert.Equal(image.ManifestDigest.ToString(), json.RootElement.GetProperty("digest").GetString());
            Assert.Equal(image.ConfigDigest.ToString(), json.RootElement.GetProperty("imageId").GetString());
        }

        var raw = Cli("inspect", archive, "--raw", "--cache", cache).AssertSuccess();
        Assert.Equal(System.Text.Encoding.UTF8.GetString(image.ManifestBytes), raw.StandardOutput.Trim());

        var layout = work.Combine("pulled");
        Cli("pull", $"{host}/cli/copied:2", "--oci-layout", layout, "--cache", work.Combine("pull-cache")).AssertSuccess();
        TestEnvironment.Run("/usr/bin/umoci", ["stat", "--image", $"{layout}:2"]).AssertSuccess();
        Cli("verify", layout, "--cache", cache).AssertSuccess();
    }

    [Fact]
    public void ErrorsAreOneLineWithACodeAndNoStackTrace()
    {
        env.Require();
        using var work = new TempDirectory();
        var bad = work.WriteFile("not-an-image.tar", "this is not a tar file at all, not even close; it goes on for a while to fill a block");
        var verify = Cli("verify", bad, "--cache", work.Combine("cache"));
        Assert.Equal(1, verify.ExitCode);
        Assert.StartsWith("error CONTAINER1011:", verify.Output.Trim());
        Assert.DoesNotContain("   at ", verify.Output);

        var missing = Cli("inspect", $"{registry.Server.Host}/no/such:image", "--cache", work.Combine("cache"));
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("error CONTAINER1024", missing.Output);
    }
}
