using Sdk.Containers.IO;

namespace Sdk.Containers.Storage;

/// <summary>
/// One build's scratch space, beside the snapshots (so a finished upper directory is renamed into the store, not
/// copied): `builds/&lt;id&gt;/` with a lock file the build holds while it lives. Whatever a build leaves when it is
/// killed (mounts, a runc container, half-made snapshots) lives there and is named by its id, so the next build, finding
/// the lock free, unmounts, kills and deletes it. Nothing in a workspace is ever read by another build.
/// </summary>
public sealed class BuildWorkspace : IDisposable
{
    private const string LockFile = "lock";
    private readonly FileStream _lock;
    private readonly List<string> _mounts = [];
    private int _next;
    private string? _secrets;
    private FileStream? _snapshotHold;

    private BuildWorkspace(string root, string id, FileStream lockStream)
    {
        Root = root;
        Id = id;
        _lock = lockStream;
    }

    public string Root { get; }

    /// <summary>Names what belongs to this build outside its folder (runc containers: sdkc-&lt;id&gt;-n).</summary>
    public string Id { get; }

    /// <summary>Mounts made (overlays to run or read a step).</summary>
    public int Mounts { get; private set; }

    public static BuildWorkspace Create(string buildsRoot, Action<string>? log = null)
    {
        buildsRoot = PrivateDirectory(buildsRoot);
        CleanStale(buildsRoot, log);
        var id = Guid.NewGuid().ToString("N")[..12];
        var root = Directory.CreateDirectory(Path.Combine(buildsRoot, id)).FullName;

        // FileShare.None takes an exclusive flock: it is released by the kernel when the process dies, however it dies.
        var lockStream = new FileStream(Path.Combine(root, LockFile), FileMode.Create, FileAccess.ReadWrite, FileShare.None);
        return new BuildWorkspace(root, id, lockStream);
    }

    /// <summary>
    /// A directory only root may enter (0700, as containerd keeps its snapshots): it holds set-id programs and device
    /// nodes from images. Its path with links resolved, since /proc/self/mountinfo names mounts that way.
    /// </summary>
    public static string PrivateDirectory(string path)
    {
        var directory = Directory.CreateDirectory(path);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(directory.FullName, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        return Posix.RealPath(directory.FullName);
    }

    /// <summary>A new empty directory in the workspace.</summary>
    public string NewDirectory(string purpose)
        => Directory.CreateDirectory(Path.Combine(Root, $"{purpose}-{Interlocked.Increment(ref _next)}")).FullName;

    /// <summary>
    /// Takes a shared hold on the snapshot store for as long as the workspace lives, so that no eviction removes a
    /// snapshot this build mounts; waits (bounded) while an eviction runs.
    /// </summary>
    public SnapshotStore ShareSnapshots(SnapshotStore snapshots)
    {
        lock (_mounts)
        {
            _snapshotHold ??= StoreLock.Share(Path.Combine(snapshots.Root, ".lock"), $"The snapshot store {snapshots.Root}");
        }

        return snapshots;
    }

    /// <summary>
    /// A new empty directory in memory (a tmpfs mounted in the workspace on first use), for secrets and for bundles
    /// that carry one: a killed build leaves them in no file on disk.
    /// </summary>
    public string NewSecretDirectory(string purpose)
    {
        lock (_mounts)
        {
            if (_secrets is null)
            {
                var target = Directory.CreateDirectory(Path.Combine(Root, "secrets")).FullName;
                Posix.Mount("tmpfs", target, "tmpfs", 0, "mode=0700,size=64m");
                _mounts.Add(target);
                _secrets = target;
            }
        }

        return Directory.CreateDirectory(Path.Combine(_secrets, $"{purpose}-{Interlocked.Increment(ref _next)}")).FullName;
    }

    public string NewContainerId() => $"sdkc-{Id}-{Interlocked.Increment(ref _next)}";

    /// <summary>Records a mount made at <paramref name="target"/>, so that it is undone however the build ends.</summary>
    public void Mounted(string target)
    {
        lock (_mounts)
        {
            _mounts.Add(target);
            Mounts++;
        }
    }

    /// <summary>Unmounts, waiting for nothing: a mount still busy is detached (and the build says nothing of it, since
    /// the mount's files are not read again).</summary>
    public void Unmount(string target)
    {
        if (!Posix.TryUnmount(target, detach: false))
        {
            Posix.TryUnmount(target);
        }

        lock (_mounts)
        {
            _mounts.Remove(target);
        }
    }

    public void Dispose()
    {
        lock (_mounts)
        {
            foreach (var target in Enumerable.Reverse(_mounts))
            {
                Posix.TryUnmount(target);
            }

            _mounts.Clear();
        }

        Remove(Root, Id);
        _snapshotHold?.Dispose();
        _lock.Dispose();
    }

    /// <summary>Removes the workspaces of builds that are gone (their lock is free), with their mounts and containers.</summary>
    public static void CleanStale(string buildsRoot, Action<string>? log)
    {
        foreach (var directory in Directory.EnumerateDirectories(buildsRoot))
        {
            try
            {
                CleanIfStale(directory, log);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Another build is cleaning it at the same time, or a mount would not go: the next build tries again.
            }
        }
    }

    private static void CleanIfStale(string directory, Action<string>? log)
    {
        var lockPath = Path.Combine(directory, LockFile);
        if (!File.Exists(lockPath))
        {
            // A build makes its lock right after its folder; one without a lock for long never got that far.
            if (DateTime.UtcNow - Directory.GetLastWriteTimeUtc(directory) > TimeSpan.FromMinutes(10))
            {
                Remove(directory, Path.GetFileName(directory));
            }

            return;
        }

        FileStream held;
        try
        {
            held = new FileStream(lockPath, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            return; // held: that build is still running
        }

        using (held)
        {
            log?.Invoke($"Removing what an interrupted build left in {directory}");
            Remove(directory, Path.GetFileName(directory));
        }
    }

    private static void Remove(string directory, string id)
    {
        Running.OciRuntime.RemoveContainers($"sdkc-{id}-");
        foreach (var mount in MountsUnder(directory).OrderByDescending(m => m.Length))
        {
            Posix.TryUnmount(mount);
        }

        foreach (var child in Directory.EnumerateFileSystemEntries(directory))
        {
            if (Path.GetFileName(child) == LockFile)
            {
                continue;
            }

            try
            {
                if (Directory.Exists(child) && !File.GetAttributes(child).HasFlag(FileAttributes.ReparsePoint))
                {
                    Directory.Delete(child, recursive: true);
                }
                else
                {
                    File.Delete(child);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // A mount that would not go; the next build tries again.
            }
        }

        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Mount points at or below a directory, from /proc/self/mountinfo (field 5, with octal escapes).</summary>
    private static IEnumerable<string> MountsUnder(string directory)
    {
        const string MountInfo = "/proc/self/mountinfo";
        if (!File.Exists(MountInfo))
        {
            return [];
        }

        var prefix = directory.TrimEnd('/') + "/";
        return File.ReadAllLines(MountInfo)
            .Select(line => line.Split(' '))
            .Where(fields => fields.Length > 4)
            .Select(fields => System.Text.RegularExpressions.Regex.Replace(fields[4], @"\\([0-7]{3})", m => ((char)Convert.ToInt32(m.Groups[1].Value, 8)).ToString()))
            .Where(point => point.StartsWith(prefix, StringComparison.Ordinal) || point == directory)
            .ToList();
    }
}
