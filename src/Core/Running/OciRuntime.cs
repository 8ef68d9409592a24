using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sdk.Containers.Running;

/// <summary>A mount of the command's container: a cache or bind directory, a tmpfs, or one of the standard ones.</summary>
public sealed record RuntimeMount(string Destination, string Type, string Source, IReadOnlyList<string> Options);

/// <summary>What runs: arguments, environment, working directory and user (numeric: names were resolved already).</summary>
public sealed record RuntimeProcess(IReadOnlyList<string> Args, IReadOnlyList<string> Env, string Cwd, int Uid, int Gid, IReadOnlyList<int> AdditionalGids);

/// <summary>
/// Runs a command in a container over a root file system through an OCI runtime (runc, or crun): writes the bundle's
/// config.json, runs it in the foreground, streams its output and returns its exit code. The container has its own
/// process, mount, IPC, UTS and (unless the host network is asked for) network namespaces, and Docker's default
/// capabilities.
/// </summary>
public sealed class OciRuntime
{
    private static readonly string[] DefaultCapabilities =
    [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID",
        "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
    ];

    /// <summary>Directories the runtime makes inside the root for its own mounts.</summary>
    public static readonly string[] StandardMountPoints = ["proc", "dev", "sys"];

    private OciRuntime(string path)
    {
        ExecutablePath = path;
    }

    public string ExecutablePath { get; }

    /// <summary>
    /// The runtime to use: SDK_CONTAINERS_OCI_RUNTIME, else runc or crun on PATH. RUN needs one, and root, since
    /// the command's files must keep their owners.
    /// </summary>
    public static OciRuntime Find(string where)
    {
        var configured = Environment.GetEnvironmentVariable("SDK_CONTAINERS_OCI_RUNTIME");
        var candidates = string.IsNullOrWhiteSpace(configured) ? new[] { "runc", "crun" } : [configured];
        var path = candidates.Select(FindExecutable).FirstOrDefault(p => p is not null);
        if (path is null)
        {
            var looked = string.IsNullOrWhiteSpace(configured) ? "neither runc nor crun is on PATH" : $"SDK_CONTAINERS_OCI_RUNTIME is {configured}, which does not exist";
            throw new ContainerException(ErrorCodes.NoOciRuntime, $"{where}: RUN needs an OCI runtime and none was found ({looked}). Install one (apt-get install runc), or set SDK_CONTAINERS_OCI_RUNTIME to its path.");
        }

        if (!Environment.IsPrivilegedProcess)
        {
            throw new ContainerException(ErrorCodes.RunNeedsRoot, $"{where}: RUN runs the command in a container with runc, which needs root here (rootless builds are not supported yet). Run the build as root, or build images without RUN instructions.");
        }

        return new OciRuntime(path);
    }

    private const string StateRoot = "/run/sdk-containers-runc";

    /// <param name="containerId">Names the container so that a later build can remove it if this one is killed.</param>
    /// <param name="bundle">An empty directory for the bundle (inside the build's workspace).</param>
    public async Task<int> RunAsync(string rootfs, RuntimeProcess process, IReadOnlyList<RuntimeMount> mounts, bool hostNetwork, Action<string> output, string containerId, string bundle, CancellationToken cancellationToken)
    {
        var id = containerId;
        var state = StateRoot;
        Directory.CreateDirectory(state);
        try
        {
            await File.WriteAllTextAsync(Path.Combine(bundle, "config.json"), BundleConfig(rootfs, process, mounts, hostNetwork).ToJsonString(), cancellationToken).ConfigureAwait(false);
            var start = new ProcessStartInfo(ExecutablePath)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
                UseShellExecute = false,
            };
            foreach (var argument in new[] { "--root", state, "run", "--bundle", bundle, id })
            {
                start.ArgumentList.Add(argument);
            }

            using var child = Process.Start(start) ?? throw new ContainerException(ErrorCodes.NoOciRuntime, $"Could not start {ExecutablePath}.");
            child.StandardInput.Close();
            var pump = Task.WhenAll(Pump(child.StandardOutput, output), Pump(child.StandardError, output));
            try
            {
                await child.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                await Quietly(state, "kill", id, "KILL").ConfigureAwait(false);
                child.Kill(entireProcessTree: true);
                throw;
            }

            await pump.ConfigureAwait(false);
            return child.ExitCode;
        }
        finally
        {
            await Quietly(state, "delete", "--force", id).ConfigureAwait(false);
            Directory.Delete(bundle, recursive: true);
        }
    }

    /// <summary>Kills and deletes the containers whose id starts with <paramref name="prefix"/> (those of a build that
    /// was killed before it could).</summary>
    public static void RemoveContainers(string prefix)
    {
        if (!Directory.Exists(StateRoot))
        {
            return;
        }

        foreach (var directory in Directory.EnumerateDirectories(StateRoot, prefix + "*"))
        {
            var id = Path.GetFileName(directory);
            foreach (var runtime in new[] { "runc", "crun" }.Select(FindExecutable).OfType<string>())
            {
                var runtimeInstance = new OciRuntime(runtime);
                runtimeInstance.Quietly(StateRoot, "kill", id, "KILL").GetAwaiter().GetResult();
                runtimeInstance.Quietly(StateRoot, "delete", "--force", id).GetAwaiter().GetResult();
            }
        }
    }

    private async Task Quietly(string state, params string[] arguments)
    {
        var start = new ProcessStartInfo(ExecutablePath) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("--root");
        start.ArgumentList.Add(state);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start);
        if (process is not null)
        {
            await process.WaitForExitAsync().ConfigureAwait(false);
        }
    }

    private static async Task Pump(StreamReader reader, Action<string> output)
    {
        while (await reader.ReadLineAsync().ConfigureAwait(false) is { } line)
        {
            output(line);
        }
    }

    private static JsonObject BundleConfig(string rootfs, RuntimeProcess process, IReadOnlyList<RuntimeMount> mounts, bool hostNetwork)
    {
        JsonArray Strings(IEnumerable<string> values) => new(values.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray());
        var namespaces = new[] { "pid", "ipc", "uts", "mount" }.Concat(hostNetwork ? [] : ["network"])
            .Select(n => (JsonNode?)new JsonObject { ["type"] = n }).ToArray();
        var allMounts = new List<RuntimeMount>
        {
            new("/proc", "proc", "proc", ["nosuid", "noexec", "nodev"]),
            new("/dev", "tmpfs", "tmpfs", ["nosuid", "strictatime", "mode=755", "size=65536k"]),
            new("/dev/pts", "devpts", "devpts", ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]),
            new("/dev/shm", "tmpfs", "shm", ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]),
            new("/dev/mqueue", "mqueue", "mqueue", ["nosuid", "noexec", "nodev"]),
            hostNetwork ? new("/sys", "bind", "/sys", ["rbind", "nosuid", "noexec", "nodev", "ro"]) : new("/sys", "sysfs", "sysfs", ["nosuid", "noexec", "nodev", "ro"]),
        };
        allMounts.AddRange(mounts);
        return new JsonObject
        {
            ["ociVersion"] = "1.0.2",
            ["process"] = new JsonObject
            {
                ["terminal"] = false,
                ["user"] = new JsonObject
                {
                    ["uid"] = process.Uid,
                    ["gid"] = process.Gid,
                    ["additionalGids"] = new JsonArray(process.AdditionalGids.Select(g => (JsonNode?)JsonValue.Create(g)).ToArray()),
                },
                ["args"] = Strings(process.Args),
                ["env"] = Strings(process.Env),
                ["cwd"] = process.Cwd,
                ["capabilities"] = new JsonObject
                {
                    ["bounding"] = Strings(DefaultCapabilities),
                    ["effective"] = Strings(DefaultCapabilities),
                    ["permitted"] = Strings(DefaultCapabilities),
                },
                ["noNewPrivileges"] = false,
            },
            ["root"] = new JsonObject { ["path"] = rootfs, ["readonly"] = false },
            ["hostname"] = "buildkitsandbox",
            ["mounts"] = new JsonArray(allMounts.Select(m => (JsonNode?)new JsonObject
            {
                ["destination"] = m.Destination,
                ["type"] = m.Type,
                ["source"] = m.Source,
                ["options"] = Strings(m.Options),
            }).ToArray()),
            ["linux"] = new JsonObject
            {
                ["namespaces"] = new JsonArray(namespaces),
                ["maskedPaths"] = Strings(["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"]),
                ["readonlyPaths"] = Strings(["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]),
            },
        };
    }

    private static string? FindExecutable(string name)
    {
        if (name.Contains('/'))
        {
            return File.Exists(name) ? Path.GetFullPath(name) : null;
        }

        return (Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, name))
            .FirstOrDefault(File.Exists);
    }
}
