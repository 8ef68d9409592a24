using System.Security.Cryptography;
using Sdk.Containers.Layers;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Tests;

/// <summary>diff_id first: a layer's content is hashed before it is compressed, and compressed once per machine.</summary>
public class LayerReuseTests
{
    private static readonly LayerWriterOptions Options = new() { Compression = LayerCompressionSetting.Parse("gzip:1") };

    private static TempDirectory Folder(int bytes, byte[]? data = null)
    {
        var dir = new TempDirectory();
        dir.WriteFile("app/app.dll", "an app");
        File.WriteAllBytes(dir.Combine("app", "data.bin"), data ?? RandomNumberGenerator.GetBytes(bytes));
        return dir;
    }

    [Theory]
    [InlineData(100_000)]
    [InlineData(3_500_000)]
    public async Task MeasuringGivesTheDiffIdAndBothEndsOfTheGzipBlobWithoutWritingIt(int size)
    {
        using var app = Folder(size);
        using var cache = new TempDirectory();
        var plan = LayerPlan.FromDirectory(app.Combine("app"), "/app", "app");

        var content = await LayerWriter.MeasureAsync(plan, Options, CancellationToken.None);
        var layer = await new LayerWriter(new BlobStore(cache.Path)).WriteAsync(plan, Options, CancellationToken.None);
        var blob = await File.ReadAllBytesAsync(layer.BlobPath);

        Assert.Equal(layer.DiffId, content.DiffId);
        var prefix = content.GzipPrefix(1);
        Assert.Equal(blob[..prefix.Length], prefix);
        Assert.Equal(blob[^8..], content.GzipTrailer());
        if (content.Length < ParallelGzipStream.DefaultChunkSize)
        {
            Assert.Equal(blob.Length, prefix.Length + 8);
        }
        else
        {
            Assert.True(blob.Length > prefix.Length + 8 + 1_000_000, "random data does not compress: the rest of the blob follows the first chunk");
        }

        // Another level deflates the first chunk to other bytes: the check tells the settings apart.
        Assert.NotEqual(prefix, content.GzipPrefix(6));
    }

    [Fact]
    public async Task TheSameContentFromAnotherFolderIsHashedNotCompressedAndHasTheSameBlob()
    {
        var data = RandomNumberGenerator.GetBytes(2_000_000);
        using var first = Folder(0, data);
        using var second = Folder(0, data);
        using var cache = new TempDirectory();
        using var elsewhere = new TempDirectory();
        var store = new BlobStore(cache.Path);
        var writer = new LayerWriter(store, new BuildCache(store));

        var one = await writer.WriteAsync(LayerPlan.FromDirectory(first.Combine("app"), "/app", "first"), Options, CancellationToken.None);
        var two = await writer.WriteAsync(LayerPlan.FromDirectory(second.Combine("app"), "/app", "second"), Options, CancellationToken.None);
        var reference = await new LayerWriter(new BlobStore(elsewhere.Path)).WriteAsync(LayerPlan.FromDirectory(second.Combine("app"), "/app", "second"), Options, CancellationToken.None);

        Assert.Equal(LayerSource.Written, one.Source);
        Assert.Equal(LayerSource.SameContentStored, two.Source);
        Assert.Equal(one.Descriptor, two.Descriptor);
        Assert.Equal(reference.Descriptor, two.Descriptor);
        Assert.Equal(reference.DiffId, two.DiffId);

        // Another compression setting is other bytes: compressed, not taken.
        var other = await writer.WriteAsync(LayerPlan.FromDirectory(second.Combine("app"), "/app", "second"), Options with { Compression = LayerCompressionSetting.Parse("gzip:6") }, CancellationToken.None);
        Assert.Equal(LayerSource.Written, other.Source);
        Assert.NotEqual(one.Descriptor.Digest, other.Descriptor.Digest);
    }

    [Fact]
    public async Task WithNothingCompressedBeforeAndNoSourceEachFileIsReadOnce()
    {
        using var app = Folder(500_000);
        using var cache = new TempDirectory();
        var store = new BlobStore(cache.Path);
        var opens = 0;
        var counting = Options with { OpenFile = path => { Interlocked.Increment(ref opens); return File.OpenRead(path); } };
        var plan = LayerPlan.FromDirectory(app.Combine("app"), "/app", "app");

        await new LayerWriter(store, new BuildCache(store)).WriteAsync(plan, counting, CancellationToken.None);
        Assert.Equal(2, opens);

        // Once this machine has compressed a layer, new content is hashed first: each file is read twice.
        using var changed = Folder(500_000);
        opens = 0;
        var layer = await new LayerWriter(store, new BuildCache(store)).WriteAsync(LayerPlan.FromDirectory(changed.Combine("app"), "/app", "app"), counting, CancellationToken.None);
        Assert.Equal(LayerSource.Written, layer.Source);
        Assert.Equal(4, opens);
    }

    [Fact]
    public async Task ASourceIsAskedWithTheMeasuredContentAndItsOfferIsTaken()
    {
        using var app = Folder(10_000);
        using var cache = new TempDirectory();
        using var other = new TempDirectory();
        var plan = LayerPlan.FromDirectory(app.Combine("app"), "/app", "app");
        var offered = await new LayerWriter(new BlobStore(other.Path)).WriteAsync(plan, Options, CancellationToken.None);
        var source = new RecordingSource(offered with { Source = LayerSource.Offered });

        var store = new BlobStore(cache.Path);
        var layer = await new LayerWriter(store, new BuildCache(store), [source]).WriteAsync(plan, Options, CancellationToken.None);

        Assert.Same(source.Offer, layer);
        Assert.Equal(offered.DiffId, Assert.Single(source.Asked).DiffId);
    }

    private sealed class RecordingSource(Layer offer) : ILayerBlobSource
    {
        public Layer Offer { get; } = offer;

        public List<LayerContent> Asked { get; } = [];

        public Task<bool> AnyAsync(CancellationToken cancellationToken) => Task.FromResult(true);

        public Task<Layer?> FindAsync(LayerContent content, LayerCompressionSetting compression, CancellationToken cancellationToken)
        {
            Asked.Add(content);
            return Task.FromResult<Layer?>(content.DiffId == Offer.DiffId ? Offer : null);
        }
    }
}
