using System.Diagnostics;
using System.Text;

namespace Sdk.Containers.Integration;

/// <summary>
/// The real services the end-to-end tests use, started by eng/test-env.sh: a Docker engine (DOCKER_HOST), skopeo,
/// umoci, the test base images and the packed Sdk.Containers package. A missing piece fails the tests with a message
/// that says how to provide it; nothing is skipped.
/// </summary>
public sealed class TestEnvironment : IDisposable
{
    public TestEnvironment()
    {
        DockerHost = Environment.GetEnvironmentVariable("DOCKER_HOST") ?? string.Empty;
        BaseImages = Environment.GetEnvironmentVariable("SDK_CONTAINERS_TEST_BASES") ?? Path.Combine(RepoPaths.Root, "artifacts", "base-images");
        Packages = Path.Combine(RepoPaths.Root, "artifacts", "packages");
        Work = new TempDirectory();
        Cache = Work.Combine("blob-cache");
    }

    public string DockerHost { get; }

    public string BaseImages { get; }

    public string Packages { get; }

    public TempDirectory Work { get; }

    /// <summary>The blob store the published projects use, so tests do not write to the user's cache.</summary>
    public string Cache { get; }

    public string BaseLayout => Path.Combine(BaseImages, "oci");

    private readonly Lazy<string?> _problem = new(FindProblem);

    /// <summary>Fails the calling test with how to set the environment up, when something is missing.</summary>
    public void Require()
    {
        if (_problem.Value is { } problem)
        {
            Assert.Fail(problem);
        }
    }

    private static string? FindProblem()
    {
        var env = new TestEnvironment();
        if (string.IsNullOrEmpty(env.DockerHost))
        {
            return "DOCKER_HOST is not set. Run the tests through `bash eng/test.sh`, which starts the test Docker engine (eng/test-env.sh).";
        }

        var version = Run("/usr/bin/docker", ["version", "--format", "{{.Server.Version}}"], timeout: TimeSpan.FromSeconds(30));
        if (version.ExitCode != 0)
        {
            return $"The Docker engine at DOCKER_HOST={env.DockerHost} does not answer ({version.Output.Trim()}). Start it with `bash eng/test-env.sh`.";
        }

        foreach (var tool in new[] { "/usr/bin/skopeo", "/usr/bin/umoci", "/usr/bin/python3", "/usr/bin/time" })
        {
            if (!File.Exists(tool))
            {
                return $"{tool} is not installed. Run `bash eng/test-env.sh` (it installs skopeo, umoci, python3 and time).";
            }
        }

        if (!File.Exists(Path.Combine(env.BaseLayout, "index.json")))
        {
            return $"The test base images are missing from {env.BaseImages}. Build them with `bash eng/build-base-images.sh`.";
        }

        if (!Directory.Exists(env.Packages) || !Directory.EnumerateFiles(env.Packages, "Sdk.Containers.0.*.nupkg").Any())
        {
            return $"No Sdk.Containers package in {env.Packages}. Pack it with `bash eng/pack.sh`.";
        }

        return null;
    }

    /// <summary>Copies a sample into a fresh folder with a NuGet.config that finds this build's package.</summary>
    public string CopySample(string name)
    {
        var source = Path.Combine(RepoPaths.Root, "samples", name);
        var target = Path.Combine(Work.Path, $"{name}-{Guid.NewGuid():N}"[..(name.Length + 9)]);
        Directory.CreateDirectory(target);
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(source, file);
            if (relative.StartsWith("bin", StringComparison.Ordinal) || relative.StartsWith("obj", StringComparison.Ordinal))
            {
                continue;
            }

            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(target, relative))!);
            File.Copy(file, Path.Combine(target, relative));
        }

        File.WriteAllText(Path.Combine(target, "NuGet.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="sdk-containers-local" value="{Packages}" />
              </packageSources>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(target, "Directory.Build.props"), "<Project />");
        File.WriteAllText(Path.Combine(target, "Directory.Packages.props"), "<Project />");
        return target;
    }

    /// <summary>The hello sample, self-contained, for linux-x64 and linux-arm64.</summary>
    public string CopyHelloForTwoPlatforms()
    {
        var project = CopySample("hello");
        var csproj = Path.Combine(project, "hello.csproj");
        File.WriteAllText(csproj, File.ReadAllText(csproj).Replace(
            "</PropertyGroup>",
            "<ContainerRuntimeIdentifiers>linux-x64;linux-arm64</ContainerRuntimeIdentifiers><SelfContained>true</SelfContained></PropertyGroup>",
            StringComparison.Ordinal));
        return project;
    }

    /// <summary>Runs `dotnet publish` on a project with the given MSBuild properties.</summary>
    public ProcessResult Publish(string projectDirectory, IEnumerable<string> arguments, IDictionary<string, string>? environment = null)
        => Run("dotnet", PublishArguments(projectDirectory, arguments), environment, TimeSpan.FromMinutes(5));

    /// <summary>
    /// The container step measured as the benchmark measures it: the project is published first (restore, build),
    /// then `dotnet publish --no-build -t:PublishContainer` runs in one MSBuild process (-m:1, so the step runs in it)
    /// under GNU time. Its result, and that process's peak resident memory (MSBuild's own included).
    /// </summary>
    public (ProcessResult Result, long PeakBytes) PublishMeasuringMemory(string projectDirectory, IEnumerable<string> arguments)
    {
        Publish(projectDirectory, []).AssertSuccess();
        var result = Run("/usr/bin/time", ["-f", "SDKC_MAXRSS_KB=%M", "dotnet", .. PublishArguments(projectDirectory, ["-m:1", "--no-restore", "--no-build", "-t:PublishContainer", .. arguments])], timeout: TimeSpan.FromMinutes(10));
        var match = System.Text.RegularExpressions.Regex.Match(result.Output, @"SDKC_MAXRSS_KB=(\d+)");
        return (result, match.Success ? long.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) * 1024 : -1);
    }

    private string[] PublishArguments(string projectDirectory, IEnumerable<string> arguments) =>
    [
        "publish", projectDirectory, "-c", "Release", "-nodeReuse:false", "-tl:off", "-v:n",
        "-p:RestoreForceEvaluate=true", $"-p:ContainerCacheDirectory={Cache}", .. arguments,
    ];

    public ProcessResult Docker(params string[] arguments) => Run("/usr/bin/docker", arguments, timeout: TimeSpan.FromMinutes(3));

    /// <summary>Runs this build's `dotnet containerize` (copied beside the tests), optionally with extra environment.</summary>
    public static ProcessResult Cli(string[] arguments, IDictionary<string, string>? environment = null)
        => Run("dotnet", [CliPath, .. arguments], environment, TimeSpan.FromMinutes(5));

    public static string CliPath => Path.Combine(AppContext.BaseDirectory, "dotnet-containerize.dll");

    public static ProcessResult Run(string fileName, IEnumerable<string> arguments, IDictionary<string, string>? environment = null, TimeSpan? timeout = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        using var process = Process.Start(info)!;
        var output = new StringBuilder();
        var standardOutput = new StringBuilder();
        var lockObject = new object();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (lockObject) { output.AppendLine(e.Data); standardOutput.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (lockObject) { output.AppendLine(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(timeout ?? TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', info.ArgumentList)} did not finish in time:\n{output}");
        }

        process.WaitForExit();
        return new ProcessResult(process.ExitCode, output.ToString(), $"{fileName} {string.Join(' ', info.ArgumentList)}") { StandardOutput = standardOutput.ToString() };
    }

    public void Dispose() => Work.Dispose();
}

public sealed record ProcessResult(int ExitCode, string Output, string CommandLine)
{
    /// <summary>Standard output alone (<see cref="Output"/> interleaves standard error).</summary>
    public string StandardOutput { get; init; } = string.Empty;

    public ProcessResult AssertSuccess() => AssertSuccess("the command");

    /// <param name="step">Which step of a test this was, for the failure message.</param>
    public ProcessResult AssertSuccess(string step)
    {
        Assert.True(ExitCode == 0, $"{step}: `{CommandLine}` exited with {ExitCode}:\n{Summary()}");
        return this;
    }

    /// <summary>The error and warning lines and the last lines of the output: enough to see why, short enough to read.</summary>
    public string Summary()
    {
        var lines = Output.Split('\n');
        var problems = lines.Where(l => l.Contains("error", StringComparison.OrdinalIgnoreCase) || l.Contains("warning CONTAINER", StringComparison.Ordinal)).Distinct().Take(20);
        return string.Join('\n', problems.Select(l => l.Length > 600 ? l[..600] + "…" : l)) + "\n--- last lines ---\n"
            + string.Join('\n', lines.TakeLast(25).Select(l => l.Length > 600 ? l[..600] + "…" : l));
    }
}

[CollectionDefinition(Name)]
public sealed class EnvironmentCollection : ICollectionFixture<TestEnvironment>
{
    public const string Name = "Test environment";
}
