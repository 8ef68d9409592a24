using Sdk.Containers.Archives;
using Sdk.Containers.Images;
using Sdk.Containers.Layers;
using Sdk.Containers.Publishing;
using Sdk.Containers.Sources;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Tests;

public class ContainerPublisherTests
{
    private static async Task<(TempDirectory Work, string BaseLayout)> MakeBaseAsync()
    {
        var work = new TempDirectory();
        var store = new BlobStore(work.Combine("cache"));
        var baseImage = await TestImages.BuildAsync(work, store);
        var builder = new Building.ImageBuilder(baseImage);
        builder.SetEnvironmentVariable("APP_UID", "1654");
        builder.SetLabel("base.label", "kept");
        var withEnv = builder.Build();
        var layout = work.Combine("base");
        await OciLayoutWriter.WriteAsync(withEnv, Sdk.Containers.References.ImageReference.Parse("runtime"), layout, CancellationToken.None);
        work.WriteFile("publish/hello.dll", "IL");
        work.WriteFile("publish/hello.runtimeconfig.json", "{}");
        return (work, layout);
    }

    /// <summary>The publish folder of <paramref name="work"/> (publish/, assembly Hello) on the layout's "runtime" image, into out/.</summary>
    internal static ContainerPublishRequest Request(TempDirectory work, string layout) => new()
    {
        PublishDirectory = work.Combine("publish"),
        BaseImage = $"oci:{layout}:runtime",
        AssemblyName = "Hello",
        ArchiveOutputPath = work.Combine("out") + "/",
        Created = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000),
    };

    [Fact]
    public async Task FrameworkDependentAppRunsThroughDotnetFromTheWorkingDirectory()
    {
        var (work, layout) = await MakeBaseAsync();
        using var _ = work;
        var result = await new ContainerPublisher(TestServices.For(work.Combine("cache"))).PublishAsync(Request(work, layout) with
        {
            WorkingDirectory = "/srv/app",
            Ports = ["8080", "53/udp"],
            Labels = [new("org.opencontainers.image.title", "hello")],
            EnvironmentVariables = [new("GREETING", "hi"), new("APP_UID", "1654")],
        }, CancellationToken.None);

        var config = result.Image.Config.Config!;
        Assert.Equal(["dotnet", "/srv/app/Hello.dll"], config.Entrypoint!);
        Assert.Null(config.Cmd);
        Assert.Equal("/srv/app", config.WorkingDir);
        Assert.Equal("1654", config.User);
        Assert.Equal(["53/udp", "8080/tcp"], config.ExposedPorts!.Order(StringComparer.Ordinal));
        Assert.Equal("kept", config.Labels!["base.label"]);
        Assert.Contains("GREETING=hi", config.Env!);
        Assert.Single(config.Env!, e => e.StartsWith("APP_UID=", StringComparison.Ordinal));
        Assert.Equal("hello", result.Repository);
        Assert.Equal(Path.Combine(work.Combine("out"), "hello.tar"), result.ArchivePath);
        Assert.Equal("2023-11-14T22:13:20Z", result.Image.Config.Created);
        await OciSchemas.AssertValidConfigAsync(result.ConfigJson);
        await OciSchemas.AssertValidManifestAsync(result.ManifestJson);

        var loaded = await new ImageLoader(new BlobStore(work.Combine("cache2"))).LoadAllAsync(ImageSource.Parse("docker-archive:" + result.ArchivePath), CancellationToken.None);
        Assert.Equal(result.Image.ManifestDigest, loaded.Single().Image.ManifestDigest);

        // The config keeps the working directory as written; the app path is joined properly either way.
        var slash = await new ContainerPublisher(TestServices.For(work.Combine("cache"))).PublishAsync(Request(work, layout) with { WorkingDirectory = "/app/" }, CancellationToken.None);
        Assert.Equal("/app/", slash.Image.Config.Config!.WorkingDir);
        Assert.Equal(["dotnet", "/app/Hello.dll"], slash.Image.Config.Config.Entrypoint!);
    }

    [Fact]
    public async Task SelfContainedAppRunsItsApphostAndUserSettingsWin()
    {
        var (work, layout) = await MakeBaseAsync();
        using var _ = work;
        var result = await new ContainerPublisher(TestServices.For(work.Combine("cache"))).PublishAsync(Request(work, layout) with
        {
            SelfContained = true,
            User = "root",
            DefaultArgs = ["--verbose"],
            Repository = "team/hello",
            Tags = ["1.0", "latest"],
            Format = ImageFormat.Docker,
        }, CancellationToken.None);

        Assert.Equal(["/app/Hello"], result.Image.Config.Config!.Entrypoint!);
        Assert.Equal(["--verbose"], result.Image.Config.Config.Cmd!);
        Assert.Equal("root", result.Image.Config.Config.User);
        Assert.Equal(MediaTypes.DockerManifest, result.Image.ManifestMediaType);
        Assert.Equal(["team/hello:1.0", "team/hello:latest"], result.RepoTags);
        Assert.EndsWith("team-hello.tar", result.ArchivePath, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EntrypointItemsMoveTheAppCommandIntoCmd()
    {
        var (work, layout) = await MakeBaseAsync();
        using var _ = work;
        var result = await new ContainerPublisher(TestServices.For(work.Combine("cache"))).PublishAsync(Request(work, layout) with
        {
            Entrypoint = ["/usr/bin/tini", "--"],
            AppCommandArgs = ["--urls", "http://+:8080"],
        }, CancellationToken.None);

        Assert.Equal(["/usr/bin/tini", "--"], result.Image.Config.Config!.Entrypoint!);
        Assert.Equal(["dotnet", "/app/Hello.dll", "--urls", "http://+:8080"], result.Image.Config.Config.Cmd!);
    }

    [Fact]
    public async Task AnArchiveForDockerLoadGetsPlainTarLayersAndAStoredOutputGetsGzip()
    {
        var (work, layout) = await MakeBaseAsync();
        using var _ = work;
        var publisher = new ContainerPublisher(TestServices.For(work.Combine("cache")));
        var baseLayers = (await new ImageLoader(new BlobStore(work.Combine("cache-base"))).LoadAllAsync(ImageSource.Parse($"oci:{layout}:runtime"), CancellationToken.None)).Single().Image.Layers.Count;

        // Only a docker-load tarball: the app layer is its tar, so its blob digest is its diff_id and nothing was compressed.
        var archived = await publisher.PublishAsync(Request(work, layout), CancellationToken.None);
        var plain = archived.Image.Layers.Skip(baseLayers).ToArray();
        Assert.NotEmpty(plain);
        Assert.All(plain, l => Assert.Equal((LayerCompression.None, l.DiffId), (MediaTypes.CompressionOf(l.Descriptor.MediaType), l.Descriptor.Digest)));
        var loaded = await new ImageLoader(new BlobStore(work.Combine("cache2"))).LoadAllAsync(ImageSource.Parse("docker-archive:" + archived.ArchivePath), CancellationToken.None);
        Assert.Equal(archived.Image.ManifestDigest, loaded.Single().Image.ManifestDigest);

        // The same tarball with an OCI layout beside it: the layout is stored, so both get the gzip image.
        var both = await publisher.PublishAsync(Request(work, layout) with { OciLayoutOutputPath = work.Combine("layout-out") }, CancellationToken.None);
        Assert.All(both.Image.Layers.Skip(baseLayers), l => Assert.Equal(LayerCompression.Gzip, MediaTypes.CompressionOf(l.Descriptor.MediaType)));
        Assert.Equal(plain.Select(l => l.DiffId), both.Image.Layers.Skip(baseLayers).Select(l => l.DiffId));

        // ContainerLayerCompression wins over the default.
        var asked = await publisher.PublishAsync(Request(work, layout) with { Compression = LayerCompressionSetting.Parse("gzip:1") }, CancellationToken.None);
        Assert.All(asked.Image.Layers.Skip(baseLayers), l => Assert.Equal(LayerCompression.Gzip, MediaTypes.CompressionOf(l.Descriptor.MediaType)));
        Assert.NotEqual(archived.Image.ManifestDigest, asked.Image.ManifestDigest);
    }

    public static TheoryData<Func<ContainerPublishRequest, ContainerPublishRequest>, string, string> BadRequests => new()
    {
        { r => r with { Repository = "My_App" }, ErrorCodes.InvalidImageReference, "must be lower case" },
        { r => r with { Tags = ["v1", "bad tag"] }, ErrorCodes.InvalidTag, "'bad tag'" },
        { r => r with { Ports = ["abc"] }, ErrorCodes.InvalidPort, "ContainerPort 'abc'" },
        { r => r with { Ports = ["80/sctp"] }, ErrorCodes.InvalidPort, "tcp or udp" },
        { r => r with { Labels = [new("", "x")] }, ErrorCodes.InvalidLabel, "ContainerLabel" },
        { r => r with { WorkingDirectory = "app" }, ErrorCodes.InvalidOutput, "absolute path" },
        { r => r with { PublishDirectory = "/nonexistent/publish" }, ErrorCodes.PublishDirectoryMissing, "/nonexistent/publish" },
        { r => r with { BaseImage = "oci:/nonexistent/layout" }, ErrorCodes.InvalidImageSource, "/nonexistent/layout" },
        { r => r with { BaseImage = "dotnet/runtime:bad!tag" }, ErrorCodes.InvalidTag, "'bad!tag'" },
        { r => r with { ArchiveOutputPath = null }, ErrorCodes.InvalidOutput, "nowhere to put the image" },
        { r => r with { ArchiveOutputPath = null, LocalRegistry = "Containerd" }, "CONTAINER2021", "LocalRegistry is 'Containerd'" },
        { r => r with { Registry = "https://registry.test/path" }, ErrorCodes.InvalidImageReference, "ContainerRegistry" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task BadValuesFailWithACodeAndWriteNothing(Func<ContainerPublishRequest, ContainerPublishRequest> change, string code, string message)
    {
        var (work, layout) = await MakeBaseAsync();
        using var _ = work;
        var ex = await Assert.ThrowsAsync<ContainerException>(() => new ContainerPublisher(TestServices.For(work.Combine("cache"))).PublishAsync(change(Request(work, layout)), CancellationToken.None));
        Assert.Equal(code, ex.Code);
        Assert.Contains(message, ex.Message);
        Assert.False(Directory.Exists(work.Combine("out")) && Directory.EnumerateFileSystemEntries(work.Combine("out")).Any());
    }
}
