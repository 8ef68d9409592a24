using System.Text;
using Sdk.Containers.Archives;
using Sdk.Containers.Images;
using Sdk.Containers.Sources;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Tests;

public class ArchiveTests
{
    private static readonly DateTimeOffset Epoch = DateTimeOffset.FromUnixTimeSeconds(1);

    [Theory]
    [InlineData(ImageFormat.Oci)]
    [InlineData(ImageFormat.Docker)]
    public async Task DockerArchiveRoundTripsWithTheSameDigests(ImageFormat format)
    {
        using var work = new TempDirectory();
        var store = new BlobStore(work.Combine("cache"));
        var image = await TestImages.BuildAsync(work, store, format);
        var path = work.Combine("out", "image.tar");
        string[] names = ["example/app:1.0", "example/app:latest", "app:2", "127.0.0.1:5000/app:3", "localhost/app:4"];
        await DockerArchiveWriter.WriteAsync(image, names.Select(n => Sdk.Containers.References.ImageReference.Parse(n)).ToArray(), path, Epoch, CancellationToken.None);

        var loaded = await new ImageLoader(new BlobStore(work.Combine("cache2"))).LoadAllAsync(ImageSource.Parse("docker-archive:" + path), CancellationToken.None);
        Assert.Single(loaded.DistinctBy(l => l.Image.ManifestDigest));
        Assert.Equal(image.ManifestDigest, loaded[0].Image.ManifestDigest);
        Assert.Equal(image.ConfigDigest, loaded[0].Image.ConfigDigest);
        Assert.Equal("docker.io/example/app:1.0", loaded[0].Name);

        // The same tarball carries manifest.json for Docker's classic store.
        var contents = await ArchiveContents.ReadAsync(path, new BlobStore(work.Combine("cache3")), CancellationToken.None);
        var manifest = ImageJson.ParseDockerArchiveManifest(contents.ReadJson("manifest.json", "test"), "test");
        Assert.Equal($"blobs/sha256/{image.ConfigDigest.Hex}", manifest[0].Config);
        Assert.Equal(image.Layers.Select(l => $"blobs/sha256/{l.Descriptor.Digest.Hex}"), manifest[0].Layers);
        // Registry included, so Podman, which reads these names when index.json has several, does not put localhost/ in front.
        Assert.Equal(["docker.io/example/app:1.0", "docker.io/example/app:latest", "docker.io/library/app:2", "127.0.0.1:5000/app:3", "localhost/app:4"], manifest[0].RepoTags!);
        await OciSchemas.AssertValidIndexAsync(Encoding.UTF8.GetString(contents.ReadJson("index.json", "test")));
        await OciSchemas.AssertValidLayoutAsync(Encoding.UTF8.GetString(contents.ReadJson("oci-layout", "test")));
    }

    [Fact]
    public async Task WritingTheSameImageTwiceGivesIdenticalBytes()
    {
        using var work = new TempDirectory();
        var store = new BlobStore(work.Combine("cache"));
        var image = await TestImages.BuildAsync(work, store);
        await DockerArchiveWriter.WriteAsync(image, [Sdk.Containers.References.ImageReference.Parse("a:1")], work.Combine("1.tar"), Epoch, CancellationToken.None);
        await DockerArchiveWriter.WriteAsync(image, [Sdk.Containers.References.ImageReference.Parse("a:1")], work.Combine("2.tar"), Epoch, CancellationToken.None);
        Assert.Equal(await File.ReadAllBytesAsync(work.Combine("1.tar")), await File.ReadAllBytesAsync(work.Combine("2.tar")));
    }

    [Fact]
    public async Task OciLayoutAndOciArchiveRoundTripAndNameTheImage()
    {
        using var work = new TempDirectory();
        var store = new BlobStore(work.Combine("cache"));
        var image = await TestImages.BuildAsync(work, store);
        var other = await TestImages.BuildAsync(new TempDirectory(), store, content: "other");
        var layout = work.Combine("layout");
        await OciLayoutWriter.WriteAsync(image, Sdk.Containers.References.ImageReference.Parse("app:v1"), layout, CancellationToken.None);
        await OciLayoutWriter.WriteAsync(other, Sdk.Containers.References.ImageReference.Parse("app:v2"), layout, CancellationToken.None);
        await OciArchiveWriter.WriteAsync(image, Sdk.Containers.References.ImageReference.Parse("app:v1"), work.Combine("image.oci.tar"), Epoch, CancellationToken.None);

        var loader = new ImageLoader(store);
        var platform = new Platform { Os = "linux", Architecture = "amd64" };
        Assert.Equal(image.ManifestDigest, (await loader.LoadAsync(ImageSource.Parse($"oci:{layout}:v1"), platform, CancellationToken.None)).Image.ManifestDigest);
        Assert.Equal(other.ManifestDigest, (await loader.LoadAsync(ImageSource.Parse($"oci:{layout}:v2"), platform, CancellationToken.None)).Image.ManifestDigest);
        Assert.Equal(image.ManifestDigest, (await loader.LoadAsync(ImageSource.Parse($"oci-archive:{work.Combine("image.oci.tar")}"), platform, CancellationToken.None)).Image.ManifestDigest);

        var ambiguous = await Assert.ThrowsAsync<ContainerException>(() => loader.LoadAsync(ImageSource.Parse($"oci:{layout}"), platform, CancellationToken.None));
        Assert.Contains("holds 2 images", ambiguous.Message);
        var missing = await Assert.ThrowsAsync<ContainerException>(() => loader.LoadAsync(ImageSource.Parse($"oci:{layout}:v3"), platform, CancellationToken.None));
        Assert.Contains("no image named 'v3'", missing.Message);
        var wrongPlatform = await Assert.ThrowsAsync<ContainerException>(() => loader.LoadAsync(ImageSource.Parse($"oci:{layout}:v1"), Platform.FromRuntimeIdentifier("linux-arm64"), CancellationToken.None));
        Assert.Contains("linux/arm64", wrongPlatform.Message);

        await OciSchemas.AssertValidIndexAsync(await File.ReadAllTextAsync(Path.Combine(layout, "index.json")));
    }

    [Fact]
    public async Task AHandWrittenDockerArchiveWithPlainAndGzipLayersLoads()
    {
        using var work = new TempDirectory();
        var plain = TestImages.LayerTar(("etc/a", "a"));
        var second = TestImages.LayerTar(("etc/b", "b"));
        var path = TestImages.DockerArchive(work.Combine("base.tar"), TestImages.ConfigFor(plain, second), [plain, TestImages.Gzip(second)]);

        var loaded = (await new ImageLoader(new BlobStore(work.Combine("cache"))).LoadAllAsync(ImageSource.Parse("docker-archive:" + path), CancellationToken.None)).Single();
        Assert.Equal(MediaTypes.DockerLayerTar, loaded.Image.Layers[0].Descriptor.MediaType);
        Assert.Equal(MediaTypes.DockerLayerGzip, loaded.Image.Layers[1].Descriptor.MediaType);
        Assert.Equal("base:1", loaded.Name);
    }

    [Fact]
    public async Task ALegacyDockerSaveArchiveLoads()
    {
        using var work = new TempDirectory();
        var bottom = TestImages.LayerTar(("bin/sh", "shell"));
        var top = TestImages.LayerTar(("app/x", "x"));
        var files = new List<(string, byte[])>
        {
            ("repositories", """{"legacy/app":{"v1":"bbbb"}}"""u8.ToArray()),
            ("aaaa/VERSION", "1.0"u8.ToArray()),
            ("aaaa/json", """{"id":"aaaa","created":"2016-01-01T00:00:00Z","container_config":{"Cmd":["/bin/sh","-c","#(nop) ADD file"]},"architecture":"amd64","os":"linux"}"""u8.ToArray()),
            ("aaaa/layer.tar", bottom),
            ("bbbb/VERSION", "1.0"u8.ToArray()),
            ("bbbb/json", """{"id":"bbbb","parent":"aaaa","created":"2016-01-02T00:00:00Z","config":{"Cmd":["/app/x"],"Env":["A=1"]},"architecture":"amd64","os":"linux"}"""u8.ToArray()),
            ("bbbb/layer.tar", top),
        };
        var path = TestImages.Tar(work.Combine("legacy.tar"), files);

        var loaded = (await new ImageLoader(new BlobStore(work.Combine("cache"))).LoadAllAsync(ImageSource.Parse("docker-archive:" + path), CancellationToken.None)).Single();
        Assert.Equal("legacy/app:v1", loaded.Name);
        Assert.Equal([Digests.Digest.Compute(bottom), Digests.Digest.Compute(top)], loaded.Image.Config.RootFs.DiffIds);
        Assert.Equal(["/app/x"], loaded.Image.Config.Config!.Cmd!);
        Assert.Equal(2, loaded.Image.Config.History!.Count);
    }

    public static TheoryData<string, string> BadArchives => new()
    {
        { "altered-layer", "does not match its diff_id" },
        { "truncated", "not a readable tar file" },
        { "missing-file", "has no file 'layer9/layer.tar', but manifest.json names it" },
        { "dotdot-entry", "contains the entry '../../escape', which points outside the image root" },
        { "absolute-entry", "contains the entry '/etc/passwd', which points outside the image root" },
        { "more-layers-than-diff-ids", "lists 2 layers in manifest.json but its config has 1 diff_ids" },
        { "manifest-not-json", "manifest.json in" },
        { "manifest-not-json", "cannot be read: it is not valid" },
        { "truncated-gzip-layer", "is not a valid gzip-compressed tar" },
    };

    [Theory]
    [MemberData(nameof(BadArchives))]
    public async Task BadArchivesAreRefusedWithAClearMessage(string kind, string expected)
    {
        using var work = new TempDirectory();
        var layer = TestImages.LayerTar(("etc/hostname", "base"));
        var config = TestImages.ConfigFor(layer);
        var path = work.Combine(kind + ".tar");
        switch (kind)
        {
            case "altered-layer":
                var altered = (byte[])layer.Clone();
                altered[512] ^= 0x01; // first byte of the file's content: the tar stays valid, the hash does not
                TestImages.DockerArchive(path, config, [altered]);
                break;
            case "truncated":
                TestImages.DockerArchive(path, config, [layer]);
                var bytes = await File.ReadAllBytesAsync(path);
                await File.WriteAllBytesAsync(path, bytes[..(bytes.Length / 2 + 100)]);
                break;
            case "missing-file":
                TestImages.DockerArchive(path, config, [layer], $$"""[{"Config":"{{Digests.Digest.Compute(Encoding.UTF8.GetBytes(config)).Hex}}.json","Layers":["layer9/layer.tar"]}]""");
                break;
            case "dotdot-entry":
                var escape = TestImages.LayerTar(("../../escape", "x"));
                TestImages.DockerArchive(path, TestImages.ConfigFor(escape), [escape]);
                break;
            case "absolute-entry":
                var absolute = TestImages.LayerTar(("/etc/passwd", "x"));
                TestImages.DockerArchive(path, TestImages.ConfigFor(absolute), [absolute]);
                break;
            case "more-layers-than-diff-ids":
                TestImages.DockerArchive(path, config, [layer, layer]);
                break;
            case "manifest-not-json":
                TestImages.DockerArchive(path, config, [layer], "[{not json");
                break;
            case "truncated-gzip-layer":
                var gz = TestImages.Gzip(layer);
                TestImages.DockerArchive(path, config, [gz[..(gz.Length / 2)]]);
                break;
        }

        var loader = new ImageLoader(new BlobStore(work.Combine("cache")));
        var ex = await Assert.ThrowsAsync<ContainerException>(() => loader.LoadAllAsync(ImageSource.Parse("docker-archive:" + path), CancellationToken.None));
        Assert.Contains(expected, ex.Message);
        Assert.DoesNotContain("   at ", ex.Message);
    }

    [Fact]
    public async Task AFlippedBlobInAnOciLayoutNamesTheLayer()
    {
        using var work = new TempDirectory();
        var store = new BlobStore(work.Combine("cache"));
        var image = await TestImages.BuildAsync(work, store);
        var layout = work.Combine("layout");
        await OciLayoutWriter.WriteAsync(image, Sdk.Containers.References.ImageReference.Parse("t"), layout, CancellationToken.None);
        var blob = Path.Combine(layout, "blobs", "sha256", image.Layers[0].Descriptor.Digest.Hex);
        var bytes = await File.ReadAllBytesAsync(blob);
        bytes[^1] ^= 0xff; // the gzip trailer's size byte: decompression fails or the digest does not match
        await File.WriteAllBytesAsync(blob, bytes);

        var ex = await Assert.ThrowsAsync<ContainerException>(() => new ImageLoader(store).LoadAllAsync(ImageSource.Parse("oci:" + layout), CancellationToken.None));
        Assert.Contains($"Layer 1 of 1 ({image.Layers[0].Descriptor.Digest})", ex.Message);
    }

    [Fact]
    public async Task AFailedWriteLeavesNoFileBehind()
    {
        using var work = new TempDirectory();
        var store = new BlobStore(work.Combine("cache"));
        var image = await TestImages.BuildAsync(work, store);
        File.Delete(image.Layers[0].BlobPath); // the writer fails half-way, when it reaches the layer
        var path = work.Combine("out", "image.tar");
        await Assert.ThrowsAnyAsync<IOException>(() => DockerArchiveWriter.WriteAsync(image, [Sdk.Containers.References.ImageReference.Parse("a:1")], path, Epoch, CancellationToken.None));
        Assert.Empty(Directory.EnumerateFileSystemEntries(work.Combine("out")));
    }

    [Theory]
    [InlineData("docker-archive:/tmp/base.tar", ImageTransport.DockerArchive, "/tmp/base.tar", null)]
    [InlineData("docker-archive:/tmp/base.tar:dotnet/runtime:10.0", ImageTransport.DockerArchive, "/tmp/base.tar", "dotnet/runtime:10.0")]
    [InlineData("oci:/tmp/layout:runtime", ImageTransport.OciLayout, "/tmp/layout", "runtime")]
    [InlineData("oci:./layout", ImageTransport.OciLayout, "./layout", null)]
    [InlineData("oci-archive:/tmp/x.tar:v1", ImageTransport.OciArchive, "/tmp/x.tar", "v1")]
    [InlineData("mcr.microsoft.com/dotnet/runtime:10.0", ImageTransport.Registry, "mcr.microsoft.com/dotnet/runtime:10.0", null)]
    [InlineData("docker-daemon:myapp:1.0", ImageTransport.DockerDaemon, "myapp:1.0", null)]
    [InlineData("docker-daemon:localhost:5000/team/base:10.0", ImageTransport.DockerDaemon, "localhost:5000/team/base:10.0", null)]
    [InlineData("docker-daemon:base", ImageTransport.DockerDaemon, "base", null)]
    [InlineData("docker-daemon:dotnet/runtime@sha256:84a674e437ceccf2dc38169df918c3958b9526a05f786c01fa964c86e758cd3b", ImageTransport.DockerDaemon, "dotnet/runtime@sha256:84a674e437ceccf2dc38169df918c3958b9526a05f786c01fa964c86e758cd3b", null)]
    [InlineData("docker-daemon:sha256:4893f6e1ae1c1c8d9cf47eb19a1c706edf89ed81e63f1ac74da65e4c8e6e51d9", ImageTransport.DockerDaemon, "sha256:4893f6e1ae1c1c8d9cf47eb19a1c706edf89ed81e63f1ac74da65e4c8e6e51d9", null)]
    [InlineData("podman:quay.io/team/base:10.0", ImageTransport.Podman, "quay.io/team/base:10.0", null)]
    [InlineData("PODMAN:base:1", ImageTransport.Podman, "base:1", null)]
    [InlineData("  docker-daemon:base:1 ", ImageTransport.DockerDaemon, "base:1", null)]
    public void ImageSourcesParseTheTransportSyntax(string value, ImageTransport transport, string location, string? reference)
    {
        var source = ImageSource.Parse(value);
        Assert.Equal(transport, source.Transport);
        Assert.Equal(location, source.Location);
        Assert.Equal(reference, source.Reference);
    }

    [Theory]
    [InlineData("docker-daemon:myapp:1.0", true)]
    [InlineData("podman:myapp:1.0", true)]
    [InlineData("docker-archive:/tmp/base.tar", false)]
    [InlineData("docker-daemon.example.com/base:1", false)]
    public void EngineSourcesSayTheyAreReadThroughAnEngineAndPrintAsWritten(string value, bool engine)
    {
        var source = ImageSource.Parse(value);
        Assert.Equal(engine, source.IsLocalEngine);
        Assert.Equal(value, source.ToString());
        Assert.Equal(source, ImageSource.Parse(source.ToString()));
    }

    [Theory]
    [InlineData("docker-daemon:", "CONTAINER1010", "'docker-daemon:' names no image; write docker-daemon:NAME:TAG.")]
    [InlineData("podman:", "CONTAINER1010", "'podman:' names no image; write podman:NAME:TAG.")]
    [InlineData("docker-daemon:MyApp:1", "CONTAINER2012", "'docker-daemon:MyApp:1' does not name an image (")]
    [InlineData("podman:-q", "CONTAINER2012", "'podman:-q' does not name an image (")]
    [InlineData("docker-daemon:--output=/etc/passwd", "CONTAINER2012", "write docker-daemon:NAME[:TAG], NAME@sha256:DIGEST or sha256:IMAGEID.")]
    [InlineData("docker-daemon:app@sha256:abc", "CONTAINER2012", "'docker-daemon:app@sha256:abc' does not name an image (")]
    [InlineData("docker-daemon:sha256:abc", "CONTAINER1010", "'docker-daemon:sha256:abc' names the image ID 'sha256:abc', which is not one: ")]
    public void BadEngineSourcesFailWithTheFormsToWrite(string value, string code, string message)
    {
        var ex = Assert.Throws<ContainerException>(() => ImageSource.Parse(value));
        Assert.Equal(code, ex.Code);
        Assert.Contains(message, ex.Message);
    }
}

public class DecompressionBombTests
{
    private static async Task<string> ZerosLayerAsync(TempDirectory work)
    {
        // 64 MB of zeros in a tar compresses to about 64 KB: a thousandfold inflation, and an honest layer.
        var tar = TestImages.LayerTar(("zeros", new string('\0', 64 * 1024 * 1024)), ("data", "not zeros"));
        var path = work.Combine("zeros.tar.gz");
        await File.WriteAllBytesAsync(path, TestImages.Gzip(tar));
        return path;
    }

    [Fact]
    public async Task VerificationHasNoRatioBoundOnlyABudgetWhenOneIsSet()
    {
        using var work = new TempDirectory();

        // 1.5 GiB of zeros at gzip's best: about 1030:1 and past 1 GiB, which the old ratio rule refused (a 4.6 GB
        // zero-padded file in an image of ours was refused by `verify` that way).
        var path = work.Combine("zeros.tar.gz");
        await using (var output = File.Create(path))
        await using (var gzip = new System.IO.Compression.GZipStream(output, System.IO.Compression.CompressionLevel.SmallestSize))
        await using (var writer = new System.Formats.Tar.TarWriter(gzip))
        {
            await writer.WriteEntryAsync(new System.Formats.Tar.UstarTarEntry(System.Formats.Tar.TarEntryType.RegularFile, "model.bin") { DataStream = new ZeroStream(3L << 29) });
        }

        var check = await Layers.LayerVerifier.CheckAsync(path, "the layer", null, CancellationToken.None);
        Assert.True(check.UncompressedSize > 1000 * new FileInfo(path).Length, $"{check.UncompressedSize:N0} from {new FileInfo(path).Length:N0}");
        Assert.True(check.UncompressedSize > 1L << 30);

        var ex = await Assert.ThrowsAsync<ContainerException>(() => Layers.LayerVerifier.CheckAsync(path, "Layer 1 of 1", null, CancellationToken.None, maxUncompressed: 1 << 20));
        Assert.Equal("CONTAINER1016", ex.Code);
        Assert.Contains("Layer 1 of 1 holds more than 1,048,576 bytes of tar, the budget SDK_CONTAINERS_VERIFY_LIMIT sets", ex.Message);
    }

    [Fact]
    public async Task UnpackingStopsPastItsLimitNamingTheArchiveAndTheSetting()
    {
        using var work = new TempDirectory();
        var path = await ZerosLayerAsync(work);
        var ex = await Assert.ThrowsAsync<ContainerException>(() => Unpacking.LayerUnpacker.UnpackAsync(File.OpenRead(path), Directory.CreateDirectory(work.Combine("root")).FullName, new Unpacking.UnpackOptions { Description = "layer 2 of 3 (bomb)", MaxBytes = 16 << 20 }, CancellationToken.None));
        Assert.Equal("CONTAINER1016", ex.Code);
        Assert.Contains("layer 2 of 3 (bomb) unpacks to more than 16,777,216 bytes", ex.Message);
        Assert.Contains("SDK_CONTAINERS_UNPACK_LIMIT", ex.Message);
    }

    [Fact]
    public async Task ZeroRunsAreUnpackedAsHoles()
    {
        using var work = new TempDirectory();
        var path = await ZerosLayerAsync(work);
        var root = Directory.CreateDirectory(work.Combine("root")).FullName;
        await Unpacking.LayerUnpacker.UnpackAsync(File.OpenRead(path), root, new Unpacking.UnpackOptions { Description = "zeros" }, CancellationToken.None);

        var zeros = Path.Combine(root, "zeros");
        Assert.Equal(64 * 1024 * 1024, new FileInfo(zeros).Length);
        Assert.True((await File.ReadAllBytesAsync(zeros)).All(b => b == 0));
        Assert.Equal("not zeros", await File.ReadAllTextAsync(Path.Combine(root, "data")));
        var blocks = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("stat", ["-c", "%b", zeros]) { RedirectStandardOutput = true })!;
        var allocated = long.Parse(blocks.StandardOutput.ReadToEnd().Trim(), System.Globalization.CultureInfo.InvariantCulture) * 512;
        blocks.WaitForExit();
        Assert.True(allocated < 1 << 20, $"the 64 MB of zeros take {allocated:N0} bytes on disk");
    }

    [Fact]
    public async Task AFullFileSystemIsOneCodedErrorNamingTheEntry()
    {
        Assert.True(Environment.IsPrivilegedProcess, "this test mounts a small tmpfs, which needs root (the test command runs as root).");
        using var work = new TempDirectory();
        var random = new byte[24 << 20];
        new Random(7).NextBytes(random);
        var tarPath = work.Combine("big.tar");
        await using (var output = File.Create(tarPath))
        await using (var writer = new System.Formats.Tar.TarWriter(output))
        {
            writer.WriteEntry(new System.Formats.Tar.UstarTarEntry(System.Formats.Tar.TarEntryType.RegularFile, "big.bin") { DataStream = new MemoryStream(random) });
        }

        var root = Directory.CreateDirectory(work.Combine("small")).FullName;
        IO.Posix.Mount("tmpfs", root, "tmpfs", 0, "size=16m");
        try
        {
            await using var tar = File.OpenRead(tarPath);
            var ex = await Assert.ThrowsAsync<ContainerException>(() => Unpacking.LayerUnpacker.UnpackAsync(tar, root, new Unpacking.UnpackOptions { Description = "layer 4 of 4" }, CancellationToken.None));
            Assert.Equal("CONTAINER1017", ex.Code);
            Assert.Contains("layer 4 of 4, entry 'big.bin'", ex.Message);
            Assert.Contains(root, ex.Message);
        }
        finally
        {
            IO.Posix.TryUnmount(root);
        }
    }
}
