using Sdk.Containers.Images;
using Sdk.Containers.Sources;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Integration;

/// <summary>
/// Our tarballs imported into containerd with `ctr images import`, as containerd-based engines (nerdctl, Docker's
/// containerd image store) read them: from the OCI layout in the tarball, by its io.containerd.image.name annotations.
/// </summary>
[Collection(EnvironmentCollection.Name)]
public sealed class ContainerdTests(TestEnvironment env)
{
    private const string ExpectedLine = "Hello from Sdk.Containers!";

    private void Require()
    {
        env.Require();
        ContainerdNamespace.Require();
    }

    private string PublishHello(string archive, params string[] more)
    {
        var project = env.CopySample("hello");
        env.Publish(project, ["-p:PublishContainer=true", $"-p:ContainerBaseImage=oci:{env.BaseLayout}:runtime", $"-p:ContainerArchiveOutputPath={archive}", .. more]).AssertSuccess();
        return project;
    }

    private async Task<Image> ReadOurArchiveAsync(string path)
        => (await new ImageLoader(new BlobStore(env.Cache)).LoadAllAsync(ImageSource.Parse("docker-archive:" + path), CancellationToken.None))[0].Image;

    [Theory]
    [InlineData("Docker", MediaTypes.DockerManifest)]
    [InlineData("OCI", MediaTypes.OciManifest)]
    public async Task ATarballOfEitherFormatImportsUnderItsFullNameAndDigestAndRuns(string format, string mediaType)
    {
        Require();
        var tag = $"ctr-{Guid.NewGuid():N}"[..16];
        var archive = Path.Combine(env.Work.Path, $"{tag}.tar");
        PublishHello(archive, $"-p:ContainerImageFormat={format}", $"-p:ContainerImageTags={tag}");
        var ours = await ReadOurArchiveAsync(archive);

        using var ns = new ContainerdNamespace();
        ns.Import(archive).AssertSuccess("ctr images import");
        var image = Assert.Single(ns.Images());
        Assert.Equal($"docker.io/library/hello:{tag}", image.Key);
        Assert.Equal(ours.ManifestDigest.ToString(), image.Value.Digest);
        Assert.Equal(mediaType, image.Value.MediaType);

        // ctr run takes the image's entrypoint (arguments given to ctr would replace it, not follow it).
        var run = ns.RunImage(image.Key).AssertSuccess("ctr run");
        Assert.Contains($"{ExpectedLine} (.NET", run.Output);
        Assert.Contains("no args)", run.Output);
    }

    [Fact]
    public async Task ATarballWithSeveralTagsImportsUnderEachAtOneDigest()
    {
        Require();
        var repository = $"team/hello-{Guid.NewGuid():N}"[..20];
        var archive = Path.Combine(env.Work.Path, "tags.tar");
        PublishHello(archive, $"-p:ContainerRepository={repository}", "-p:ContainerImageTags=\"t1;t2\"");
        var ours = await ReadOurArchiveAsync(archive);

        using var ns = new ContainerdNamespace();
        ns.Import(archive).AssertSuccess("ctr images import");
        var images = ns.Images();
        Assert.Equal([$"docker.io/{repository}:t1", $"docker.io/{repository}:t2"], images.Keys.Order(StringComparer.Ordinal));
        Assert.All(images.Values, i => Assert.Equal(ours.ManifestDigest.ToString(), i.Digest));
        Assert.Contains(ExpectedLine, ns.RunImage($"docker.io/{repository}:t2").AssertSuccess("ctr run").Output);
    }

    [Fact]
    public void ATwoPlatformOciArchiveImportsAsOneIndexTheCurrentPlatformOrAllAndTheAmd64ImageRuns()
    {
        Require();
        var project = env.CopyHelloForTwoPlatforms();
        var tag = $"multi-{Guid.NewGuid():N}"[..16];
        var archive = Path.Combine(project, "multi.tar");
        env.Publish(project, [
            "-p:PublishContainer=true",
            $"-p:ContainerBaseImage=oci:{env.BaseLayout}:runtime-deps-multi",
            $"-p:ContainerImageTags={tag}",
            $"-p:ContainerArchiveOutputPath={archive}",
        ]).AssertSuccess();

        var index = IndexFiles.IndexJsonOfArchive(archive).GetProperty("manifests").EnumerateArray().Single();
        var indexDigest = index.GetProperty("digest").GetString()!;
        var (platformManifests, platforms) = PlatformManifests(archive, indexDigest);
        Assert.Equal(["amd64", "arm64"], platformManifests.Keys.Order(StringComparer.Ordinal));
        var name = $"docker.io/library/hello:{tag}";

        // By default ctr takes the index and the current platform's image; --all-platforms takes the arm64 one too.
        using (var current = new ContainerdNamespace())
        {
            current.Import(archive).AssertSuccess("ctr images import");
            var image = Assert.Single(current.Images());
            Assert.Equal(name, image.Key);
            Assert.Equal(indexDigest, image.Value.Digest);
            Assert.Equal(MediaTypes.OciIndex, image.Value.MediaType);
            Assert.Contains(platformManifests["amd64"], current.Content());
            Assert.DoesNotContain(platformManifests["arm64"], current.Content());
            Assert.Contains(ExpectedLine, current.RunImage(name).AssertSuccess("ctr run").Output);
        }

        using var all = new ContainerdNamespace();
        all.Import(archive, "--all-platforms").AssertSuccess("ctr images import --all-platforms");
        var imported = Assert.Single(all.Images());
        Assert.Equal(name, imported.Key);
        Assert.Equal(indexDigest, imported.Value.Digest);
        Assert.Equal(platformManifests.Keys.Select(a => platforms[a]).Order(StringComparer.Ordinal), imported.Value.Platforms.Order(StringComparer.Ordinal));
        Assert.Contains(platformManifests["amd64"], all.Content());
        Assert.Contains(platformManifests["arm64"], all.Content());
        Assert.Contains(ExpectedLine, all.RunImage(name).AssertSuccess("ctr run").Output);
    }

    /// <summary>The manifest digest and the os/architecture[/variant] of each image in an oci-archive's index, by architecture.</summary>
    private static (Dictionary<string, string> Manifests, Dictionary<string, string> Platforms) PlatformManifests(string archive, string indexDigest)
    {
        using var file = File.OpenRead(archive);
        using var tar = new System.Formats.Tar.TarReader(file);
        var path = $"blobs/sha256/{indexDigest["sha256:".Length..]}";
        while (tar.GetNextEntry() is { } entry)
        {
            if (entry.Name == path)
            {
                using var json = System.Text.Json.JsonDocument.Parse(entry.DataStream!);
                var manifests = json.RootElement.GetProperty("manifests").EnumerateArray().ToArray();
                static string Architecture(System.Text.Json.JsonElement m) => m.GetProperty("platform").GetProperty("architecture").GetString()!;
                static string Platform(System.Text.Json.JsonElement m)
                {
                    var platform = m.GetProperty("platform");
                    var variant = platform.TryGetProperty("variant", out var v) ? "/" + v.GetString() : string.Empty;
                    return $"{platform.GetProperty("os").GetString()}/{Architecture(m)}{variant}";
                }

                return (manifests.ToDictionary(Architecture, m => m.GetProperty("digest").GetString()!), manifests.ToDictionary(Architecture, Platform));
            }
        }

        throw new InvalidDataException($"{archive} has no {path}");
    }
}
