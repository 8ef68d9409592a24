using System.Text.RegularExpressions;

namespace Sdk.Containers.Integration;

/// <summary>
/// The engines besides the test Docker engine that eng/test-env.sh provides, each kept under the test environment
/// folder (SDK_CONTAINERS_TEST_ENV, default /tmp/sdkc-env) so the machine's own configuration is never used.
/// </summary>
internal static class TestEngineFolder
{
    public static string Path => Environment.GetEnvironmentVariable("SDK_CONTAINERS_TEST_ENV") is { Length: > 0 } dir ? dir : "/tmp/sdkc-env";

    /// <summary>The value eng/test-env.sh exports, or where it writes it when the tests were started without that.</summary>
    public static string Setting(string variable, params string[] defaultUnderFolder)
        => Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value ? value : System.IO.Path.Combine([Path, .. defaultUnderFolder]);
}

/// <summary>
/// A namespace of its own in the tests' containerd (not dockerd's embedded one), reached with ctr; removed with its
/// images when the test ends, so tests never see each other's images. Snapshots are the native snapshotter's.
/// </summary>
public sealed partial class ContainerdNamespace : IDisposable
{
    private const string Ctr = "/usr/bin/ctr";
    private static readonly Lazy<string?> Problem = new(FindProblem);

    public ContainerdNamespace()
    {
        Name = $"sdkc-{Guid.NewGuid():N}"[..17];
    }

    public static string Socket => TestEngineFolder.Setting("SDK_CONTAINERS_TEST_CONTAINERD", "containerd", "containerd.sock");

    public string Name { get; }

    /// <summary>Fails the calling test with how to start containerd, when ctr or the daemon is missing.</summary>
    public static void Require()
    {
        if (Problem.Value is { } problem)
        {
            Assert.Fail(problem);
        }
    }

    /// <summary>ctr with this namespace.</summary>
    public ProcessResult Run(params string[] arguments)
        => TestEnvironment.Run(Ctr, ["-a", Socket, "-n", Name, .. arguments], timeout: TimeSpan.FromMinutes(3));

    public ProcessResult Import(string archive, params string[] options)
        => Run(["images", "import", "--snapshotter", "native", .. options, archive]);

    /// <summary>`ctr images ls`, by name. Its SIZE column has a space in it ("12.5 MiB"), so the row is matched whole.</summary>
    public IReadOnlyDictionary<string, ContainerdImage> Images()
    {
        var listing = Run("images", "ls").AssertSuccess("ctr images ls");
        var images = new Dictionary<string, ContainerdImage>(StringComparer.Ordinal);
        foreach (var line in listing.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1))
        {
            var row = ImageRow().Match(line);
            Assert.True(row.Success, $"Unexpected `ctr images ls` row: {line}");
            images[row.Groups["ref"].Value] = new ContainerdImage(row.Groups["type"].Value, row.Groups["digest"].Value, row.Groups["platforms"].Value.Split(','));
        }

        return images;
    }

    /// <summary>The digests of every blob the namespace holds.</summary>
    public IReadOnlySet<string> Content()
        => Run("content", "ls", "-q").AssertSuccess("ctr content ls").StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);

    /// <summary>
    /// Runs the image's entrypoint with runc and removes the container. No --net-host: the container gets a network
    /// namespace with only loopback, as `docker run --network none`. FIFOs and runc's state stay in the test folder.
    /// </summary>
    public ProcessResult RunImage(string image, params string[] arguments)
        => Run(["run", "--rm", "--snapshotter", "native", "--fifo-dir", Path.Combine(State, "fifo"), "--runc-root", Path.Combine(State, "runc"),
            image, $"{Name}-{Guid.NewGuid():N}"[..30], .. arguments]);

    private static string State => Path.Combine(TestEngineFolder.Path, "containerd");

    public void Dispose()
    {
        // Best effort: eng/test-env.sh removes what a failed clean-up left.
        var images = Run("images", "ls", "-q").StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (images.Length > 0)
        {
            Run(["images", "rm", "--sync", .. images]);
        }

        TestEnvironment.Run(Ctr, ["-a", Socket, "namespaces", "rm", Name], timeout: TimeSpan.FromMinutes(1));
        var runcState = Path.Combine(State, "runc", Name);
        if (Directory.Exists(runcState) && !Directory.EnumerateFileSystemEntries(runcState).Any())
        {
            Directory.Delete(runcState);
        }
    }

    private static string? FindProblem()
    {
        if (!File.Exists(Ctr))
        {
            return $"{Ctr} is not installed. Run `bash eng/test-env.sh` (it installs containerd and starts one for the tests).";
        }

        var version = TestEnvironment.Run(Ctr, ["-a", Socket, "version"], timeout: TimeSpan.FromSeconds(30));
        return version.ExitCode == 0 ? null
            : $"The tests' containerd at {Socket} does not answer ({version.Output.Trim().Split('\n')[^1]}). Start it with `bash eng/test-env.sh`.";
    }

    [GeneratedRegex(@"^(?<ref>\S+)\s+(?<type>\S+)\s+(?<digest>sha256:[0-9a-f]{64})\s+.+?\s(?<platforms>\S+)\s+(?<labels>\S+)\s*$")]
    private static partial Regex ImageRow();
}

/// <summary>An image as `ctr images ls` shows it: its target's media type and digest, and the platforms it lists.</summary>
public sealed record ContainerdImage(string MediaType, string Digest, IReadOnlyList<string> Platforms);

/// <summary>
/// Podman with the tests' own configuration (eng/test-env.sh writes it; CONTAINERS_CONF, CONTAINERS_STORAGE_CONF and
/// CONTAINERS_REGISTRIES_CONF point at it): vfs storage under the test folder, no network. Every Podman a test starts,
/// directly or through a publish, gets <see cref="Environment"/>, so the machine's own storage is never touched.
/// </summary>
public static class TestPodman
{
    private const string Podman = "/usr/bin/podman";
    private static readonly Lazy<string?> Problem = new(FindProblem);

    public static IReadOnlyDictionary<string, string> Environment { get; } = new Dictionary<string, string>
    {
        ["CONTAINERS_CONF"] = TestEngineFolder.Setting("CONTAINERS_CONF", "podman", "containers.conf"),
        ["CONTAINERS_STORAGE_CONF"] = TestEngineFolder.Setting("CONTAINERS_STORAGE_CONF", "podman", "storage.conf"),
        ["CONTAINERS_REGISTRIES_CONF"] = TestEngineFolder.Setting("CONTAINERS_REGISTRIES_CONF", "podman", "registries.conf"),
    };

    /// <summary>The environment for a publish: the tests' Podman configuration and the given extra variables.</summary>
    public static Dictionary<string, string> EnvironmentWith(params (string Name, string Value)[] extra)
    {
        var environment = new Dictionary<string, string>(Environment);
        foreach (var (name, value) in extra)
        {
            environment[name] = value;
        }

        return environment;
    }

    /// <summary>Fails the calling test with how to set Podman up, when it or its test configuration is missing.</summary>
    public static void Require()
    {
        if (Problem.Value is { } problem)
        {
            Assert.Fail(problem);
        }
    }

    public static ProcessResult Run(params string[] arguments)
        => TestEnvironment.Run(Podman, arguments, EnvironmentWith(), TimeSpan.FromMinutes(3));

    private static string? FindProblem()
    {
        if (!File.Exists(Podman))
        {
            return $"{Podman} is not installed. Run `bash eng/test-env.sh` (it installs podman and configures it for the tests).";
        }

        foreach (var (variable, file) in Environment)
        {
            if (!File.Exists(file))
            {
                return $"The tests' Podman configuration {file} ({variable}) is missing. Write it with `bash eng/test-env.sh`.";
            }
        }

        var version = Run("version", "--format", "{{.Server.Version}}");
        return version.ExitCode == 0 ? null
            : $"Podman does not answer with the tests' configuration ({version.Output.Trim()}). Check it with `bash eng/test-env.sh`.";
    }
}
