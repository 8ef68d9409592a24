using Sdk.Containers.Layers;
using Sdk.Containers.Publishing;
using Sdk.Containers.Sources;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Tests;

public class IncrementalBuildTests
{
    [Fact]
    public async Task AnUnchangedPlanIsTakenFromTheCacheWithoutOpeningAFile()
    {
        using var work = new TempDirectory();
        work.WriteFile("app/a.dll", "a");
        work.WriteFile("app/b.dll", "b");
        var store = new BlobStore(work.Combine("cache"));
        var opens = 0;
        var options = new LayerWriterOptions { OpenFile = p => { Interlocked.Increment(ref opens); return File.OpenRead(p); } };
        var writer = new LayerWriter(store, new BuildCache(store));

        var first = await writer.WriteAsync(LayerPlan.FromDirectory(work.Combine("app"), "/app", "t"), options, CancellationToken.None);
        Assert.Equal(2, opens);
        Assert.NotEqual(LayerSource.BuildCache, first.Source);

        var second = await writer.WriteAsync(LayerPlan.FromDirectory(work.Combine("app"), "/app", "t"), options, CancellationToken.None);
        Assert.Equal(2, opens);
        Assert.Equal(LayerSource.BuildCache, second.Source);
        Assert.Equal(first.Descriptor.Digest, second.Descriptor.Digest);
        Assert.Equal(first.DiffId, second.DiffId);

        // A touched file is read again, and gives the same layer: its content is hashed, found, and not compressed.
        File.SetLastWriteTimeUtc(work.Combine("app", "a.dll"), DateTime.UtcNow.AddMinutes(7));
        var touched = await writer.WriteAsync(LayerPlan.FromDirectory(work.Combine("app"), "/app", "t"), options, CancellationToken.None);
        Assert.Equal(4, opens);
        Assert.Equal(LayerSource.SameContentStored, touched.Source);
        Assert.Equal(first.Descriptor.Digest, touched.Descriptor.Digest);

        // A blob missing from the store is a miss, never a dangling layer.
        File.Delete(first.BlobPath);
        var rebuilt = await writer.WriteAsync(LayerPlan.FromDirectory(work.Combine("app"), "/app", "t"), options, CancellationToken.None);
        Assert.NotEqual(LayerSource.BuildCache, rebuilt.Source);
        Assert.True(File.Exists(rebuilt.BlobPath));
    }

    [Fact]
    public async Task ANoChangeRepublishGivesTheSameImageAndSkipsAllWork()
    {
        using var work = new TempDirectory();
        var store = new BlobStore(work.Combine("cache"));
        var baseImage = await TestImages.BuildAsync(work, store);
        await Archives.OciLayoutWriter.WriteAsync(baseImage, Sdk.Containers.References.ImageReference.Parse("base"), work.Combine("base"), CancellationToken.None);
        work.WriteFile("publish/app.dll", "IL");
        var request = new ContainerPublishRequest
        {
            PublishDirectory = work.Combine("publish"),
            BaseImage = $"oci:{work.Combine("base")}:base",
            AssemblyName = "app",
            ArchiveOutputPath = work.Combine("out", "app.tar"),
        };
        var log = new RecordingLog();

        var first = await new ContainerPublisher(TestServices.For(work.Combine("cache"), log)).PublishAsync(request, CancellationToken.None);
        var written = File.GetLastWriteTimeUtc(first.ArchivePath!);
        log.Lines.Clear();
        var second = await new ContainerPublisher(TestServices.For(work.Combine("cache"), log)).PublishAsync(request, CancellationToken.None);

        Assert.Equal(first.Image.ManifestDigest, second.Image.ManifestDigest);
        Assert.All(second.Image.Layers.Skip(baseImage.Layers.Count), l => Assert.Equal(LayerSource.BuildCache, l.Source));
        Assert.Contains(log.Lines, l => l.Contains("verified in an earlier build and unchanged since", StringComparison.Ordinal));
        Assert.Contains(log.Lines, l => l.Contains("no file read, nothing hashed or compressed", StringComparison.Ordinal));
        Assert.Contains(log.Lines, l => l.Contains("is up to date", StringComparison.Ordinal));
        Assert.Equal(written, File.GetLastWriteTimeUtc(second.ArchivePath!));

        // A real change makes a new image, with a new creation time.
        work.WriteFile("publish/app.dll", "IL, changed");
        var third = await new ContainerPublisher(TestServices.For(work.Combine("cache"), log)).PublishAsync(request, CancellationToken.None);
        Assert.NotEqual(first.Image.ManifestDigest, third.Image.ManifestDigest);
        Assert.Equal(third.Image.Config.Created, third.Image.Config.History![^1].Created);
    }

    [Fact]
    public async Task TheVerifyPathReadsEverythingAgain()
    {
        using var work = new TempDirectory();
        var store = new BlobStore(work.Combine("cache"));
        var image = await TestImages.BuildAsync(work, store);
        await Archives.OciLayoutWriter.WriteAsync(image, Sdk.Containers.References.ImageReference.Parse("x"), work.Combine("layout"), CancellationToken.None);
        var source = ImageSource.Parse($"oci:{work.Combine("layout")}");

        var cached = new ImageLoader(store);
        await cached.LoadAllAsync(source, CancellationToken.None);
        var again = new ImageLoader(store);
        await again.LoadAllAsync(source, CancellationToken.None);
        Assert.Equal(image.Layers.Count, again.ChecksSkipped);

        var verify = new ImageLoader(store, reverify: true);
        await verify.LoadAllAsync(source, CancellationToken.None);
        Assert.Equal(0, verify.ChecksSkipped);
    }

    private sealed class RecordingLog : IBuildLog
    {
        public List<string> Lines { get; } = [];

        public void Info(string message) => Lines.Add(message);

        public void Detail(string message) => Lines.Add(message);

        public void Warning(string code, string message) => Lines.Add($"{code}: {message}");
    }
}
