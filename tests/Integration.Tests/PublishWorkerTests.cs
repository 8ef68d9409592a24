using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Sdk.Containers.Publishing;

namespace Sdk.Containers.Integration;

/// <summary>
/// The publish task's image work runs in the packed NativeAOT worker on linux-x64; SDK_CONTAINERS_WORKER=false keeps
/// it in MSBuild's process. Both must give the same image, the same errors, and a cancel must stop the worker.
/// </summary>
[Collection(EnvironmentCollection.Name)]
public sealed partial class PublishWorkerTests(TestEnvironment env)
{
    private static readonly Dictionary<string, string> InProcess = new() { [PublishWorkerSwitch] = "false" };

    private const string PublishWorkerSwitch = "SDK_CONTAINERS_WORKER";

    [GeneratedRegex(@"Image work in the publish worker (\S+) \(process \d+\)")]
    private static partial Regex WorkerLine();

    private (string Archive, IReadOnlyList<string> Messages) PublishHello(string project, string name, IEnumerable<string> more, IDictionary<string, string>? environment = null)
    {
        var archive = Path.Combine(project, "out", name + ".tar");
        var binlog = Path.Combine(project, name + ".binlog");
        env.Publish(project, [
            "-p:PublishContainer=true",
            $"-p:ContainerBaseImage=oci:{env.BaseLayout}:runtime",
            $"-p:ContainerArchiveOutputPath={archive}",
            $"-p:ContainerCacheDirectory={Path.Combine(project, "cache-" + name)}",
            "-p:ContainerImageCreated=2026-01-01T00:00:00Z",
            $"-bl:{binlog}",
            .. more,
        ], environment).AssertSuccess();
        return (archive, Binlogs.Messages(binlog));
    }

    [Fact]
    public void TheWorkerBuildsTheImageMSBuildsOwnProcessWouldByteForByte()
    {
        env.Require();
        var project = env.CopySample("hello");

        var (byWorker, workerLog) = PublishHello(project, "worker", []);
        var (inProcess, inProcessLog) = PublishHello(project, "in-process", [], InProcess);

        Assert.Contains(workerLog, m => WorkerLine().IsMatch(m));
        Assert.DoesNotContain(inProcessLog, m => WorkerLine().IsMatch(m));
        Assert.Contains(inProcessLog, m => m.Contains($"{PublishWorkerSwitch}=false", StringComparison.Ordinal));

        // The layers' lines reach MSBuild's log from the worker as they do from the task itself.
        Assert.Contains(workerLog, m => m.StartsWith("Layer hello app files:", StringComparison.Ordinal));
        Assert.Equal(Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(inProcess))), Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(byWorker))));
    }

    [Fact]
    public void AnErrorInTheWorkerIsTheErrorMSBuildsOwnProcessGives()
    {
        env.Require();
        var project = env.CopySample("hello");
        var missing = Path.Combine(project, "no-such-layout");
        string[] arguments = ["-p:PublishContainer=true", $"-p:ContainerBaseImage=oci:{missing}:runtime", $"-p:ContainerCacheDirectory={Path.Combine(project, "cache")}"];

        var byWorker = env.Publish(project, arguments);
        var inProcess = env.Publish(project, arguments, InProcess);

        Assert.NotEqual(0, byWorker.ExitCode);
        var error = ErrorLine(inProcess.Output);
        Assert.Contains(missing, error);
        Assert.Equal(error, ErrorLine(byWorker.Output));
    }

    [Fact]
    public void AWorkerThatCannotRunHereLeavesTheWorkToMSBuildsProcess()
    {
        env.Require();
        var project = env.CopySample("hello");
        var (byWorker, messages) = PublishHello(project, "worker", []);
        var worker = messages.Select(m => WorkerLine().Match(m)).First(m => m.Success).Groups[1].Value;

        // The package's task folder, copied with a "worker" that ends before it says anything, as one linked for
        // another C library would.
        var tasks = Path.Combine(project, "tasks");
        foreach (var file in Directory.GetFiles(Path.GetDirectoryName(Path.GetDirectoryName(worker))!, "*", SearchOption.AllDirectories))
        {
            var copy = Path.Combine(tasks, Path.GetRelativePath(Path.GetDirectoryName(Path.GetDirectoryName(worker))!, file));
            Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
            File.Copy(file, copy);
        }

        var broken = Path.Combine(tasks, "linux-x64", "sdk-containers-worker");
        File.WriteAllText(broken, "#!/bin/sh\necho 'cannot load here' >&2\nexit 127\n");
        File.SetUnixFileMode(broken, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        var (fallback, fallbackLog) = PublishHello(project, "fallback", [$"-p:SdkContainersTasksAssembly={Path.Combine(tasks, "Sdk.Containers.Tasks.dll")}"]);

        Assert.Contains(fallbackLog, m => m.Contains("ended (code 127) before it said anything; the image is built in MSBuild's process", StringComparison.Ordinal));
        Assert.Contains(fallbackLog, m => m.Contains("cannot load here", StringComparison.Ordinal));
        Assert.Equal(Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(byWorker))), Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(fallback))));
    }

    private static string ErrorLine(string output)
        => output.Split('\n').Select(l => l.Trim()).First(l => l.Contains(": error CONTAINER", StringComparison.Ordinal));

    [Fact]
    public async Task TheEndOfItsInputCancelsTheWorkerWhichWritesNothing()
    {
        env.Require();
        var project = env.CopySample("hello");
        var (_, messages) = PublishHello(project, "first", []);
        var worker = messages.Select(m => WorkerLine().Match(m)).First(m => m.Success).Groups[1].Value;

        // A registry that takes the connection and never answers: the worker waits on it until it is cancelled.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        var archive = Path.Combine(project, "out", "cancelled.tar");
        var request = new PublishWorkerRequest(
            new ContainerPublishRequest
            {
                PublishDirectory = Path.Combine(project, "bin", "Release", "net10.0", "publish"),
                BaseImage = $"127.0.0.1:{port}/dotnet/runtime:10.0",
                AssemblyName = "hello",
                ArchiveOutputPath = archive,
            },
            Path.Combine(project, "cache-cancelled"),
            [],
            1 << 20);

        using var process = Process.Start(new ProcessStartInfo(worker) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false })!;
        try
        {
            await CancelAsync(process, request, silent, archive, project);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    private static async Task CancelAsync(Process process, PublishWorkerRequest request, TcpListener silent, string archive, string project)
    {
        await process.StandardInput.WriteLineAsync(PublishWorkerJson.Serialize(request));
        await process.StandardInput.FlushAsync();
        using var accepted = await silent.AcceptTcpClientAsync();
        process.StandardInput.Close();

        // Not a timing assertion: a bound on a wait that, were the cancel lost, would last the registry timeout.
        using var bound = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var lines = new List<string>();
        while (await process.StandardOutput.ReadLineAsync(bound.Token) is { } line)
        {
            lines.Add(line);
        }

        Assert.True(process.WaitForExit(60_000), "The worker did not exit after its input ended.");
        Assert.Equal(1, process.ExitCode);
        var error = lines.Select(PublishWorkerJson.TryParseMessage).Single(m => m?.Kind == WorkerMessageKind.Error)!;
        Assert.Equal("CONTAINER1000", error.Code);
        Assert.False(File.Exists(archive));
        Assert.Empty(Directory.GetFiles(Path.Combine(project, "out"), "*cancelled*"));
    }
}
