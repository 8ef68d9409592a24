using Sdk.Containers.IO;

namespace Sdk.Containers.Unpacking;

/// <summary>
/// overlayfs mounts over snapshots. Options are fixed so that the upper directory holds whole files and plain
/// whiteouts only: no metadata-only copy-up (its data would stay below), no redirected directories, no inode index.
/// </summary>
public static class Overlay
{
    public const string OpaqueAttribute = "trusted.overlay.opaque";

    // The kernel copies mount options into one page; containerd keeps the same margin.
    private const int MaxOptionsLength = 4096 - 512;

    /// <summary>A writable view: <paramref name="lowers"/> bottom first (as layers are listed), writes go to upper.</summary>
    public static void MountWritable(string target, IReadOnlyList<string> lowers, string upper, string work)
        => Mount(target, lowers, [("upperdir", upper), ("workdir", work), ("index", "off"), ("redirect_dir", "off"), ("metacopy", "off")], readOnly: false);

    /// <summary>A read-only view of two or more lower directories (one is its own view).</summary>
    public static void MountReadOnly(string target, IReadOnlyList<string> lowers)
    {
        if (lowers.Count < 2)
        {
            throw new ArgumentException("A read-only overlay needs two lower directories.", nameof(lowers));
        }

        Mount(target, lowers, [("redirect_dir", "off"), ("metacopy", "off")], readOnly: true);
    }

    private static void Mount(string target, IReadOnlyList<string> lowers, IReadOnlyList<(string Key, string Value)> others, bool readOnly)
    {
        var options = string.Join(',', others.Select(o => $"{o.Key}={o.Value}").Prepend($"lowerdir={LowerOption(lowers)}"));
        if (options.Length < MaxOptionsLength)
        {
            Posix.Mount("overlay", target, "overlay", readOnly ? Posix.MountReadOnly : 0, options);
            return;
        }

        // Too many layers for one page of options (about 60 snapshot paths): each lower directory is given on its
        // own, topmost first, as `lowerdir+` takes them (Linux 6.8+; overlayfs stacks at most 500).
        try
        {
            Posix.MountWithParameters("overlay", target, lowers.Reverse().Select(l => ("lowerdir+", (string?)l)).Concat(others.Select(o => (o.Key, (string?)o.Value))), readOnly);
        }
        catch (Exception ex) when (ex is IOException or EntryPointNotFoundException)
        {
            throw new IOException($"an overlay of {lowers.Count} layers needs {options.Length} bytes of mount options, more than mount(2) takes, and this kernel did not take them one by one either ({ex.Message}; `lowerdir+` needs Linux 6.8)", ex);
        }
    }

    private static string LowerOption(IReadOnlyList<string> lowers)
    {
        foreach (var lower in lowers)
        {
            if (lower.Contains(',') || lower.Contains(':'))
            {
                throw new IOException($"'{lower}' has ',' or ':' in its path, which overlayfs options cannot carry; use a cache directory without them");
            }
        }

        // overlayfs lists the topmost lower directory first.
        return string.Join(':', lowers.Reverse());
    }

    /// <summary>A character device 0:0 in an upper directory: the path is deleted.</summary>
    public static bool IsWhiteout(FileStatus status) => status.Type == UnixFileType.CharacterDevice && status.DeviceMajor == 0 && status.DeviceMinor == 0;

    public static bool IsOpaque(string directory) => Posix.GetAttribute(directory, OpaqueAttribute) == "y";

    /// <summary>
    /// Whether overlayfs can be mounted with upper directories under <paramref name="scratch"/> (root, a kernel with
    /// overlayfs, a file system that takes trusted xattrs); the reason when it cannot.
    /// </summary>
    public static string? Probe(string scratch)
    {
        if (!OperatingSystem.IsLinux() || !Environment.IsPrivilegedProcess)
        {
            return "it needs root on Linux";
        }

        var root = Directory.CreateDirectory(Path.Combine(scratch, "probe-" + Guid.NewGuid().ToString("N")[..8])).FullName;
        var dirs = new[] { "lower", "upper", "work", "merged" }.Select(d => Directory.CreateDirectory(Path.Combine(root, d)).FullName).ToArray();
        try
        {
            MountWritable(dirs[3], [dirs[0]], dirs[1], dirs[2]);
            try
            {
                Directory.CreateDirectory(Path.Combine(dirs[3], "d"));
                File.WriteAllText(Path.Combine(dirs[3], "d", "f"), "x");
                return File.Exists(Path.Combine(dirs[1], "d", "f")) ? null : "the upper directory did not receive a write";
            }
            finally
            {
                Posix.TryUnmount(dirs[3]);
            }
        }
        catch (IOException ex)
        {
            return ex.Message;
        }
        finally
        {
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
