using Sdk.Containers.Images;
using Sdk.Containers.Layers;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Tests;

public class LayerCompressionTests
{
    [Theory]
    [InlineData(null, LayerCompression.Gzip, 2)]
    [InlineData("gzip", LayerCompression.Gzip, 2)]
    [InlineData("gzip:1", LayerCompression.Gzip, 1)]
    [InlineData("ZSTD", LayerCompression.Zstd, 3)]
    [InlineData("zstd:19", LayerCompression.Zstd, 19)]
    public void SettingsParse(string? value, LayerCompression algorithm, int level)
    {
        var setting = LayerCompressionSetting.Parse(value);
        Assert.Equal(algorithm, setting.Algorithm);
        Assert.Equal(level, setting.Level);
    }

    [Theory]
    [InlineData("brotli")]
    [InlineData("gzip:10")]
    [InlineData("zstd:0")]
    [InlineData("gzip:fast")]
    public void BadSettingsNameTheProperty(string value)
    {
        var ex = Assert.Throws<ContainerException>(() => LayerCompressionSetting.Parse(value));
        Assert.Contains($"ContainerLayerCompression is '{value}'", ex.Message);
    }

    [Fact]
    public async Task AZstdLayerIsAnOciZstdBlobWhoseContentMatchesItsDiffId()
    {
        using var work = new TempDirectory();
        work.WriteFile("app/a.txt", new string('z', 100_000));
        var store = new BlobStore(work.Combine("cache"));
        var plan = LayerPlan.FromDirectory(work.Combine("app"), "/app", "t");
        var zstd = await new LayerWriter(store).WriteAsync(plan, new LayerWriterOptions { Compression = LayerCompressionSetting.Parse("zstd:3") }, CancellationToken.None);
        var gzip = await new LayerWriter(store).WriteAsync(plan, new LayerWriterOptions(), CancellationToken.None);

        Assert.Equal(MediaTypes.OciLayerZstd, zstd.Descriptor.MediaType);
        Assert.Equal(gzip.DiffId, zstd.DiffId);
        var check = await LayerVerifier.CheckAsync(zstd.BlobPath, "the zstd layer", zstd.DiffId, CancellationToken.None);
        Assert.Equal(LayerCompression.Zstd, check.Compression);
        Assert.Equal(zstd.Descriptor.Digest, check.BlobDigest);

        // Only the image decides media types, and a Docker-format image has none for zstd.
        var builder = Building.ImageBuilder.FromScratch(new Platform { Os = "linux", Architecture = "amd64" }, ImageFormat.Docker);
        builder.AddLayer(zstd, "zstd");
        var docker = Assert.Throws<ContainerException>(() => builder.Build());
        Assert.Contains("OCI", docker.Message);
    }
}
