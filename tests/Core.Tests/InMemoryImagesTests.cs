using Sdk.Containers.Images;
using Sdk.Containers.Layers;
using Sdk.Containers.References;
using Sdk.Containers.Targets;

namespace Sdk.Containers.Tests;

/// <summary>In-memory layers read like file layers, through the one layer reader, and reach every target.</summary>
public class InMemoryImagesTests
{
    [Fact]
    public async Task ARandomLayerIsWhatItsDigestsSay()
    {
        var layer = InMemoryImages.RandomLayer(seed: 7);
        Assert.Equal(layer.Descriptor, InMemoryImages.RandomLayer(seed: 7).Descriptor);
        Assert.NotEqual(layer.DiffId, InMemoryImages.RandomLayer(seed: 8).DiffId);

        await using var reader = LayerReader.Open(layer.OpenBlob(), new LayerReadOptions { Description = "random", ExpectedDiffId = layer.DiffId, HashBlob = true, CheckNames = true });
        var names = new List<string>();
        while (await reader.NextAsync(CancellationToken.None) is { } entry)
        {
            names.Add(entry.Name);
        }

        var read = await reader.FinishAsync(CancellationToken.None);
        Assert.Equal(layer.Descriptor.Digest, read.BlobDigest);
        Assert.Equal(layer.Descriptor.Size, read.BlobSize);
        Assert.Equal(["data/", "data/7-0.bin", "data/7-1.bin", "data/7-2.bin"], names);

        // Read from an offset, as a retried upload does.
        await using var tail = layer.OpenBlobAt(10);
        Assert.Equal(layer.Descriptor.Size - 10, tail.Length);
    }

    [Fact]
    public async Task InMemoryImagesGoToTargetsLikeAnyOther()
    {
        using var work = new TempDirectory();
        var image = InMemoryImages.Random(seed: 1, format: ImageFormat.Docker);
        Assert.Equal(MediaTypes.DockerLayerGzip, image.Layers[0].Descriptor.MediaType);
        Assert.Equal(2, image.Config.RootFs.DiffIds.Count);
        Assert.Empty(InMemoryImages.Empty().Layers);

        await new RootfsTarget(work.Combine("rootfs"), NullBuildLog.Instance).WriteAsync(ImageArtifact.Of(image), [], CancellationToken.None);
        Assert.Equal(1024, new FileInfo(work.Combine("rootfs", "data", "1-0.bin")).Length);
        Assert.Equal(1024, new FileInfo(work.Combine("rootfs", "data", "2-2.bin")).Length);

        var archive = work.Combine("image.tar");
        await new DockerArchiveTarget(archive, DateTimeOffset.UnixEpoch, NullBuildLog.Instance).WriteAsync(ImageArtifact.Of(image), [ImageReference.Parse("memory/app:1")], CancellationToken.None);
        var loaded = await new Sources.ImageLoader(new Storage.BlobStore(work.Combine("cache"))).LoadAllAsync(Sources.ImageSource.Parse("docker-archive:" + archive), CancellationToken.None);
        Assert.Equal(image.ManifestDigest, loaded.Single().Image.ManifestDigest);
    }
}
