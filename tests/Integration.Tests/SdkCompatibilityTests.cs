using System.IO.Compression;
using System.Text;
using Sdk.Containers.Images;
using Sdk.Containers.Sources;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Integration;

/// <summary>The same project built by the SDK's built-in container support and by Sdk.Containers gives the same config.</summary>
[Collection(EnvironmentCollection.Name)]
public sealed class SdkCompatibilityTests(TestEnvironment env, RegistryFixture registry) : IClassFixture<RegistryFixture>
{
    private static readonly string[] TimeLabels = ["org.opencontainers.image.created", "org.opencontainers.artifact.created"];

    [Fact]
    public async Task TheSdksPropertiesGiveTheSameConfigAsTheSdkItself()
    {
        env.Require();
        var host = registry.Server.Host;
        var project = env.CopySample("configured");
        var baseImage = $"-p:ContainerBaseImage={host}/dotnet/runtime:10.0";

        // The SDK's own support (our package not referenced); it reaches the plain-HTTP registry when told it is insecure.
        var sdkArchive = Path.Combine(project, "out", "sdk.tar.gz");
        env.Publish(project, ["-p:UseSdkContainers=false", "-t:PublishContainer", baseImage, $"-p:ContainerArchiveOutputPath={sdkArchive}"],
            new Dictionary<string, string> { ["DOTNET_CONTAINER_INSECURE_REGISTRIES"] = host }).AssertSuccess();

        var ourArchive = Path.Combine(project, "out", "ours.tar");
        var binlog = Path.Combine(project, "ours.binlog");
        env.Publish(project, ["-p:PublishContainer=true", baseImage, $"-p:ContainerArchiveOutputPath={ourArchive}", $"-bl:{binlog}"]).AssertSuccess();
        Assert.Contains("BuildContainerImage", Binlogs.TaskNames(binlog));
        Assert.DoesNotContain("CreateNewImage", Binlogs.TaskNames(binlog));

        var sdk = await LoadAsync(Gunzip(sdkArchive), project);
        var ours = await LoadAsync(ourArchive, project);
        var (s, o) = (sdk.Config.Config!, ours.Config.Config!);
        var both = $"\nSDK:  {Encoding.UTF8.GetString(sdk.ConfigBytes)}\nours: {Encoding.UTF8.GetString(ours.ConfigBytes)}";

        Assert.True(Same(s.Env, o.Env), "Env differs" + both);
        Assert.True(Same(s.Entrypoint, o.Entrypoint), "Entrypoint differs" + both);
        Assert.True(Same(s.Cmd, o.Cmd), "Cmd differs" + both);
        Assert.True(s.WorkingDir == o.WorkingDir, "WorkingDir differs" + both);
        Assert.True(s.User == o.User, "User differs" + both);
        Assert.True(Same(s.ExposedPorts?.Order(StringComparer.Ordinal), o.ExposedPorts?.Order(StringComparer.Ordinal)), "ExposedPorts differ" + both);
        Assert.True(Same(s.Volumes, o.Volumes) && s.StopSignal == o.StopSignal, "Volumes or StopSignal differ" + both);
        var sdkLabels = (s.Labels ?? new Dictionary<string, string>()).Where(l => !TimeLabels.Contains(l.Key)).OrderBy(l => l.Key, StringComparer.Ordinal);
        var ourLabels = (o.Labels ?? new Dictionary<string, string>()).Where(l => !TimeLabels.Contains(l.Key)).OrderBy(l => l.Key, StringComparer.Ordinal);
        Assert.True(sdkLabels.SequenceEqual(ourLabels), "Labels differ" + both);
        Assert.Equal(s.Labels!.Keys.Intersect(TimeLabels).Order(), o.Labels!.Keys.Intersect(TimeLabels).Order());
        Assert.Equal(sdk.Config.Platform.ToString(), ours.Config.Platform.ToString());
        Assert.Equal(sdk.ManifestMediaType, ours.ManifestMediaType);
    }

    private static bool Same(IEnumerable<string>? a, IEnumerable<string>? b) => (a ?? []).SequenceEqual(b ?? []);

    private async Task<Image> LoadAsync(string archive, string project)
        => (await new ImageLoader(new BlobStore(Path.Combine(project, "read-cache"))).LoadAllAsync(ImageSource.Parse("docker-archive:" + archive), CancellationToken.None)).DistinctBy(i => i.Image.ManifestDigest).Single().Image;

    private static bool IsGzip(string path)
    {
        using var file = File.OpenRead(path);
        return file.ReadByte() == 0x1f && file.ReadByte() == 0x8b;
    }

    /// <summary>The SDK names its archive .tar.gz whether or not it compressed it; our reader takes the plain tar.</summary>
    private static string Gunzip(string path)
    {
        if (!IsGzip(path))
        {
            return path;
        }

        var tar = Path.ChangeExtension(path, null);
        using var input = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var output = File.Create(tar);
        input.CopyTo(output);
        return tar;
    }
}
