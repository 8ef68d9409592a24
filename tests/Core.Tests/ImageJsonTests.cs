using System.Text;
using Sdk.Containers.Digests;
using Sdk.Containers.Images;
using Sdk.Containers.Layers;

namespace Sdk.Containers.Tests;

public class ImageJsonTests
{
    private static readonly Digest SomeDiffId = Digest.Compute("layer"u8);

    private static ImageConfig SampleConfig() => new()
    {
        Architecture = "amd64",
        Os = "linux",
        Created = "2024-01-01T00:00:00Z",
        Config = new ContainerConfig
        {
            Env = ["PATH=/usr/bin", "A=1"],
            Entrypoint = ["dotnet", "/app/app.dll"],
            ExposedPorts = ["8080/tcp", "53/udp"],
            Labels = new Dictionary<string, string> { ["z"] = "last", ["a"] = "first", ["url"] = "https://example.test/?a=1&b=<2>" },
            WorkingDir = "/app",
            User = "1654",
        },
        RootFs = new RootFs { DiffIds = [SomeDiffId] },
        History = [new HistoryEntry { Created = "2024-01-01T00:00:00Z", CreatedBy = "test" }],
    };

    [Fact]
    public void ConfigOmitsUnsetFieldsAndWritesMapsSorted()
    {
        var json = Encoding.UTF8.GetString(ImageJson.Serialize(SampleConfig()));
        Assert.DoesNotContain("null", json);
        Assert.DoesNotContain("Cmd", json);
        Assert.Contains("\"ExposedPorts\":{\"53/udp\":{},\"8080/tcp\":{}}", json);
        Assert.Contains("\"Labels\":{\"a\":\"first\",\"url\":\"https://example.test/?a=1&b=<2>\",\"z\":\"last\"}", json);
        Assert.Contains($"\"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[\"{SomeDiffId}\"]}}", json);
    }

    [Fact]
    public void UnknownFieldsOfABaseConfigSurviveARoundTrip()
    {
        var original = """{"architecture":"amd64","os":"linux","docker_version":"24.0.7","config":{"Env":["A=1"],"Domainname":"x"},"rootfs":{"type":"layers","diff_ids":[]}}""";
        var parsed = ImageJson.ParseConfig(Encoding.UTF8.GetBytes(original), "test");
        var written = Encoding.UTF8.GetString(ImageJson.Serialize(parsed));
        Assert.Contains("\"docker_version\":\"24.0.7\"", written);
        Assert.Contains("\"Domainname\":\"x\"", written);
    }

    [Fact]
    public void MalformedJsonIsAContainerErrorNamingTheSource()
    {
        var ex = Assert.Throws<ContainerException>(() => ImageJson.ParseManifest("{\"schemaVersion\":2,"u8, "'base.tar' (manifest.json)"));
        Assert.Contains("'base.tar' (manifest.json)", ex.Message);
        Assert.Contains("not valid", ex.Message);
    }

    [Fact]
    public void ADiffIdThatIsNotADigestIsRefused()
    {
        var ex = Assert.Throws<ContainerException>(() => ImageJson.ParseConfig("""{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:abc"]}}"""u8, "cfg"));
        Assert.Contains("has 3 hex digits", ex.Message);
    }

    [Theory]
    [InlineData(ImageFormat.Oci, MediaTypes.OciManifest, MediaTypes.OciConfig, MediaTypes.OciLayerGzip)]
    [InlineData(ImageFormat.Docker, MediaTypes.DockerManifest, MediaTypes.DockerConfig, MediaTypes.DockerLayerGzip)]
    public async Task ImagesOfBothFormatsHaveConsistentDigestsAndValidJson(ImageFormat format, string manifestType, string configType, string layerType)
    {
        var layer = new Layer("/nonexistent", new Descriptor { MediaType = MediaTypes.OciLayerGzip, Digest = Digest.Compute("gz"u8), Size = 2 }, SomeDiffId);
        var image = Image.Create(format, SampleConfig(), [layer]);

        Assert.Equal(Digest.Compute(image.ConfigBytes), image.ConfigDigest);
        Assert.Equal(Digest.Compute(image.ManifestBytes), image.ManifestDigest);
        Assert.Equal(manifestType, image.Manifest.MediaType);
        Assert.Equal(configType, image.Manifest.Config.MediaType);
        Assert.Equal(layerType, image.Manifest.Layers[0].MediaType);
        Assert.Equal(image.ConfigBytes.Length, image.Manifest.Config.Size);

        await OciSchemas.AssertValidConfigAsync(Encoding.UTF8.GetString(image.ConfigBytes));
        if (format == ImageFormat.Oci)
        {
            await OciSchemas.AssertValidManifestAsync(Encoding.UTF8.GetString(image.ManifestBytes));
        }
    }

    [Fact]
    public void PlatformsFollowRuntimeIdentifiers()
    {
        Assert.Equal("linux/amd64", Platform.FromRuntimeIdentifier("linux-x64").ToString());
        Assert.Equal("linux/amd64", Platform.FromRuntimeIdentifier("linux-musl-x64").ToString());
        Assert.Equal("linux/arm64/v8", Platform.FromRuntimeIdentifier("linux-arm64").ToString());
        Assert.True(Platform.FromRuntimeIdentifier("linux-arm64").Accepts(new Platform { Os = "linux", Architecture = "arm64" }));
        Assert.False(Platform.FromRuntimeIdentifier("linux-x64").Accepts(new Platform { Os = "linux", Architecture = "arm64" }));
        var ex = Assert.Throws<ContainerException>(() => Platform.FromRuntimeIdentifier("osx-x64"));
        Assert.Contains("osx-x64", ex.Message);
    }
}
