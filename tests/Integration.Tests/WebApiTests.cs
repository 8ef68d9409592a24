using System.Text.RegularExpressions;

namespace Sdk.Containers.Integration;

/// <summary>A self-contained ASP.NET app: layers by change rate, small re-pushes, and the container serving HTTP.</summary>
[Collection(EnvironmentCollection.Name)]
public sealed partial class WebApiTests(TestEnvironment env, RegistryFixture registry) : IClassFixture<RegistryFixture>
{
    [GeneratedRegex(@"Layer (?<name>[^:]+): \d+ files, [\d,]+ bytes, (?<digest>sha256:[0-9a-f]{64})")]
    private static partial Regex LayerLine();

    private static string[] LayerDigests(ProcessResult result) => LayerLine().Matches(result.Output).Select(m => m.Groups["digest"].Value).ToArray();

    [Fact]
    public async Task AOneLineChangeRebuildsOnlyTheAppLayerAndRepushesUnderTwoPercent()
    {
        env.Require();
        await using var proxy = new FaultProxy(registry.Server.Host);
        var project = env.CopySample("webapi");
        string[] args = [
            "-r", "linux-x64", "--self-contained",
            "-p:PublishContainer=true",
            $"-p:ContainerBaseImage={registry.Server.Host}/dotnet/runtime-deps:10.0",
            $"-p:ContainerRegistry={proxy.Host}",
            "-p:ContainerRepository=layered/webapi",
        ];
        var first = env.Publish(project, args).AssertSuccess();
        var firstBytes = Interlocked.Read(ref proxy.BytesReceived);
        var firstLayers = LayerDigests(first);
        Assert.Equal(2, firstLayers.Length); // the .NET runtime, then the app (the sample has no packages)
        Assert.Contains("Layer .NET runtime", first.Output);

        var program = Path.Combine(project, "Program.cs");
        File.WriteAllText(program, File.ReadAllText(program).Replace("Hello from the Sdk.Containers web sample!", "Hello again, changed!", StringComparison.Ordinal));
        proxy.Reset();
        var second = env.Publish(project, args).AssertSuccess();
        var secondBytes = Interlocked.Read(ref proxy.BytesReceived);
        var secondLayers = LayerDigests(second);

        Assert.Equal(firstLayers[0], secondLayers[0]);
        Assert.NotEqual(firstLayers[1], secondLayers[1]);
        Assert.True(secondBytes < firstBytes * 0.02, $"the second push uploaded {secondBytes:N0} bytes, the first {firstBytes:N0}");
    }

    [Fact]
    public void LoadedIntoTheLocalDaemonTheContainerAnswersAnHttpRequest()
    {
        env.Require();
        var host = registry.Server.Host;
        var project = env.CopySample("webapi");
        var tag = $"http-{Guid.NewGuid():N}"[..16];
        // No registry and no archive path: the image is loaded into the engine at DOCKER_HOST, as LocalRegistry says.
        var result = env.Publish(project, [
            "-p:PublishContainer=true",
            $"-p:ContainerBaseImage={host}/dotnet/aspnet:10.0",
            "-p:LocalRegistry=Docker",
            $"-p:ContainerImageTags={tag}",
        ]).AssertSuccess();
        Assert.Contains($"Loaded webapi:{tag} into docker", result.Output);

        // The engine unpacks the layers at once: they go to it as plain tar, nothing compressed.
        Assert.Matches(@"Layer webapi app files: \d+ files, [\d,]+ bytes uncompressed, sha256:", result.Output);
        var image = $"webapi:{tag}";
        var container = env.Docker("run", "-d", "--network", "none", image).AssertSuccess().StandardOutput.Trim();
        try
        {
            string? body = null;
            for (var attempt = 0; attempt < 30 && body is null; attempt++)
            {
                var get = env.Docker("exec", container, "wget", "-qO-", "http://127.0.0.1:8080/");
                body = get.ExitCode == 0 ? get.StandardOutput : null;
                if (body is null)
                {
                    Thread.Sleep(500);
                }
            }

            Assert.True(body is not null, "The app did not answer; its log:\n" + env.Docker("logs", container).Output);
            Assert.Equal("Hello from the Sdk.Containers web sample!", body!.TrimEnd());
        }
        finally
        {
            env.Docker("rm", "-f", container);
            env.Docker("rmi", "-f", image);
        }
    }
}
