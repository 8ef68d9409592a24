using System.Text.Json;
using Sdk.Containers.Images;
using Sdk.Containers.Layers;
using Sdk.Containers.Publishing;

namespace Sdk.Containers.Tests;

/// <summary>The MSBuild task hands its request to the NativeAOT worker as JSON: nothing may be lost on the way.</summary>
public sealed class PublishWorkerProtocolTests
{
    private static ContainerPublishRequest EverythingSet() => new()
    {
        PublishDirectory = "/src/app/bin/publish/",
        BaseImage = "registry.example.com/dotnet/runtime:10.0",
        AssemblyName = "app",
        RuntimeIdentifier = "linux-arm64",
        SelfContained = true,
        Repository = "team/app",
        Registry = "localhost:5000",
        OciLayoutOutputPath = "/out/layout",
        LocalRegistry = "Podman",
        FallbackArchiveOutputPath = "/out/fallback/",
        Tags = ["1.0", "latest"],
        RegistryReuse = false,
        CacheFrom = ["localhost:5000/team/app:main"],
        TagsFromVersion = "1.2.3",
        ArchiveOutputPath = "/out/app.tar",
        Format = ImageFormat.Oci,
        WorkingDirectory = "/srv",
        User = "1000",
        AppFilesOwner = "1000:1000",
        WorkingDirectoryWritable = true,
        AppCommand = ["dotnet", "app.dll"],
        AppCommandArgs = ["--urls", "http://+:8080"],
        DefaultArgs = ["--verbose"],
        Entrypoint = ["/bin/tini", "--"],
        EntrypointArgs = ["-g"],
        AppCommandInstruction = AppCommandInstruction.DefaultArgs,
        EnvironmentVariables = [KeyValuePair.Create("A", "line one\nline two")],
        Labels = [KeyValuePair.Create("org.opencontainers.image.title", "Ünïcode \"quoted\"")],
        Ports = ["8080/tcp", "53/udp"],
        Created = new DateTimeOffset(2026, 12, 2, 10, 0, 0, TimeSpan.Zero),
        LayerTimestamp = new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero),
        Compression = LayerCompressionSetting.Parse("zstd:3"),
        Layering = ContainerLayering.Single,
        GenerateCreatedLabels = true,
        GenerateBaseDigestLabel = true,
        ExtraLayers = [new ExtraLayer("/src/config", "/etc/app/", "0644", "1000:1000")],
        Annotations = [KeyValuePair.Create("org.example.note", "x")],
        BaseImageAnnotations = false,
        Sbom = "cyclonedx",
        Provenance = "max",
        AttachmentDirectory = "/out/sbom",
        AppVersion = "1.2.3",
        PackageId = "App",
        SourceRepositoryUrl = "https://example.com/app.git",
        SourceRevision = "0123456789abcdef",
        PushedLater = true,
        Host = "msbuild",
    };

    [Fact]
    public void EveryPropertyOfTheRequestTravels()
    {
        var json = PublishWorkerJson.Serialize(new PublishWorkerRequest(EverythingSet(), "/cache", ["localhost:5000"], 1 << 20));
        using var document = JsonDocument.Parse(json);
        var sent = document.RootElement.GetProperty("Request").EnumerateObject().Select(p => p.Name).ToHashSet();

        // A property added to the request later must be set above, so that this test sees it arrive.
        var missing = typeof(ContainerPublishRequest).GetProperties().Select(p => p.Name).Where(n => !sent.Contains(n)).ToArray();
        Assert.True(missing.Length == 0, $"Not sent: {string.Join(", ", missing)}");
        Assert.DoesNotContain('\n', json);
    }

    [Fact]
    public void TheRequestReadBackIsTheRequestSent()
    {
        var sent = new PublishWorkerRequest(EverythingSet(), "/cache", ["localhost:5000"], 1 << 20);
        var received = PublishWorkerJson.ParseRequest(PublishWorkerJson.Serialize(sent));

        Assert.Equal(PublishWorkerJson.Serialize(sent), PublishWorkerJson.Serialize(received));
        Assert.Equal(LayerCompression.Zstd, received.Request.Compression!.Algorithm);
        Assert.Equal(3, received.Request.Compression.Level);
        Assert.Equal("line one\nline two", received.Request.EnvironmentVariables.Single().Value);
        Assert.Equal(new ExtraLayer("/src/config", "/etc/app/", "0644", "1000:1000"), received.Request.ExtraLayers.Single());
        Assert.Equal(ImageFormat.Oci, received.Request.Format);
        Assert.Equal(1 << 20, received.MaxChunkSize);
    }

    [Fact]
    public void ARequestWithTheDefaultsKeepsThem()
    {
        var sent = new ContainerPublishRequest { PublishDirectory = "/p", BaseImage = "b", AssemblyName = "a" };
        var received = PublishWorkerJson.ParseRequest(PublishWorkerJson.Serialize(new PublishWorkerRequest(sent, null, [], 1024))).Request;

        Assert.Equal(["latest"], received.Tags);
        Assert.True(received.RegistryReuse);
        Assert.Null(received.Compression);
        Assert.Null(received.Format);
        Assert.Equal(sent.LayerTimestamp, received.LayerTimestamp);
        Assert.Equal("/app", received.WorkingDirectory);
    }

    [Theory]
    [InlineData("")]
    [InlineData("progress: 50%")]
    [InlineData("{not json")]
    public void ALineThatIsNoMessageIsToldApart(string line) => Assert.Null(PublishWorkerJson.TryParseMessage(line));

    [Fact]
    public void MessagesReadBackAsSent()
    {
        var result = new PublishedImage("sha256:aa", "sha256:bb", "{}", "{\"schemaVersion\":2}", MediaTypes.OciManifest, null, ["app:1.0"]);
        var message = PublishWorkerJson.TryParseMessage(PublishWorkerJson.Serialize(new PublishWorkerMessage(WorkerMessageKind.Result, Result: result)));

        Assert.Equal(WorkerMessageKind.Result, message!.Kind);
        Assert.Equal(result.ManifestJson, message.Result!.ManifestJson);
        Assert.Equal(result.RepoTags, message.Result.RepoTags);
        Assert.Equal(WorkerMessageKind.Warning, PublishWorkerJson.TryParseMessage(PublishWorkerJson.Serialize(new PublishWorkerMessage(WorkerMessageKind.Warning, "CONTAINER2001", "w")))!.Kind);
    }
}
