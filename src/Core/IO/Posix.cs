using System.Runtime.InteropServices;

namespace Sdk.Containers.IO;

/// <summary>What lstat says of a path: the facts a layer records (type, mode, owner, size, link identity, times).</summary>
public readonly record struct FileStatus(UnixFileType Type, UnixFileMode Mode, int Uid, int Gid, long Size, ulong Inode, uint Links, long ModifiedNanoseconds, uint DeviceMajor, uint DeviceMinor)
{
    public bool IsDirectory => Type == UnixFileType.Directory;
}

public enum UnixFileType
{
    Regular,
    Directory,
    Symlink,
    Fifo,
    CharacterDevice,
    BlockDevice,
    Socket,
}

/// <summary>
/// The few Linux file-system calls .NET has no API for, and which building a root file system needs: owners without
/// following links (lstat/lchown), hard links, and device or fifo nodes. statx is used because its layout is the same
/// on every architecture, unlike struct stat.
/// </summary>
public static partial class Posix
{
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxBasicStats = 0x7ff;

    public static FileStatus LStat(string path)
    {
        if (statx(AtFdCwd, path, AtSymlinkNoFollow, StatxBasicStats, out var buffer) != 0)
        {
            throw Failure("stat", path);
        }

        var type = (buffer.Mode & 0xF000) switch
        {
            0x4000 => UnixFileType.Directory,
            0xA000 => UnixFileType.Symlink,
            0x1000 => UnixFileType.Fifo,
            0x2000 => UnixFileType.CharacterDevice,
            0x6000 => UnixFileType.BlockDevice,
            0xC000 => UnixFileType.Socket,
            _ => UnixFileType.Regular,
        };
        return new FileStatus(type, (UnixFileMode)(buffer.Mode & 0xFFF), (int)buffer.Uid, (int)buffer.Gid, (long)buffer.Size, buffer.Inode, buffer.Links,
            (buffer.ModifiedSeconds * 1_000_000_000L) + buffer.ModifiedNanoseconds, buffer.RdevMajor, buffer.RdevMinor);
    }

    public static bool TryLStat(string path, out FileStatus status)
    {
        if (statx(AtFdCwd, path, AtSymlinkNoFollow, StatxBasicStats, out _) != 0)
        {
            status = default;
            return false;
        }

        status = LStat(path);
        return true;
    }

    /// <summary>The bytes a file takes on disk (512-byte blocks), less than its size when it has holes; -1 when unknown.</summary>
    public static long AllocatedBytes(string path)
        => statx(AtFdCwd, path, AtSymlinkNoFollow, StatxBasicStats, out var buffer) == 0 ? (long)buffer.Blocks * 512 : -1;

    /// <summary>Sets the owner of a path itself, not of what a symbolic link points to.</summary>
    public static void LChown(string path, int uid, int gid)
    {
        if (lchown(path, uid, gid) != 0)
        {
            throw Failure("chown", path);
        }
    }

    public static void Link(string existing, string newPath)
    {
        if (link(existing, newPath) != 0)
        {
            throw Failure("link", newPath);
        }
    }

    public static void MakeFifo(string path, UnixFileMode mode)
    {
        if (mknod(path, 0x1000 | (uint)mode, 0) != 0)
        {
            throw Failure("mkfifo", path);
        }
    }

    /// <summary>Makes a character or block device node (a whiteout of overlayfs is a character device 0:0).</summary>
    public static void MakeDevice(string path, UnixFileType type, UnixFileMode mode, int major, int minor)
    {
        var kind = type == UnixFileType.BlockDevice ? 0x6000u : 0x2000u;
        var (ma, mi) = ((ulong)(uint)major, (ulong)(uint)minor);
        // glibc's makedev encoding.
        var device = ((ma & 0xfffff000UL) << 32) | ((ma & 0xfffUL) << 8) | ((mi & 0xffffff00UL) << 12) | (mi & 0xffUL);
        if (mknod(path, kind | (uint)mode, device) != 0)
        {
            throw Failure("mknod", path);
        }
    }

    /// <summary>An extended attribute of a path itself (not a link's target), or null when it has none.</summary>
    public static string? GetAttribute(string path, string name)
    {
        Span<byte> value = stackalloc byte[256];
        var length = lgetxattr(path, name, ref MemoryMarshal.GetReference(value), (nuint)value.Length);
        return length < 0 ? null : System.Text.Encoding.UTF8.GetString(value[..(int)length]);
    }

    public static void SetAttribute(string path, string name, string value)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(value);
        if (lsetxattr(path, name, bytes, (nuint)bytes.Length, 0) != 0)
        {
            throw Failure("setxattr " + name, path);
        }
    }

    /// <summary>mount(2); the error names the file system type and target.</summary>
    public static void Mount(string source, string target, string type, ulong flags, string? data)
    {
        if (mount(source, target, type, flags, data) != 0)
        {
            throw Failure($"mount -t {type}", target);
        }
    }

    public const ulong MountReadOnly = 1;

    /// <summary>
    /// Mounts a file system through the new mount API (fsopen, fsconfig, fsmount, move_mount; Linux 5.2+), where each
    /// parameter is set on its own: the way past mount(2)'s one page of options (overlayfs takes `lowerdir+` once per
    /// lower directory from Linux 6.8). A parameter with a null value is a flag.
    /// </summary>
    public static void MountWithParameters(string type, string target, IEnumerable<(string Key, string? Value)> parameters, bool readOnly)
    {
        var context = fsopen(type, 1 /* FSOPEN_CLOEXEC */);
        if (context < 0)
        {
            throw Failure($"fsopen {type}", target);
        }

        try
        {
            foreach (var (key, value) in parameters)
            {
                if ((value is null ? fsconfig(context, 0 /* FSCONFIG_SET_FLAG */, key, null, 0) : fsconfig(context, 1 /* FSCONFIG_SET_STRING */, key, value, 0)) != 0)
                {
                    throw Failure($"fsconfig {type} {key}", value ?? target);
                }
            }

            if (fsconfig(context, 6 /* FSCONFIG_CMD_CREATE */, null, null, 0) != 0)
            {
                throw Failure($"mount -t {type}", target);
            }

            var mounted = fsmount(context, 1 /* FSMOUNT_CLOEXEC */, readOnly ? 1u /* MOUNT_ATTR_RDONLY */ : 0u);
            if (mounted < 0)
            {
                throw Failure($"fsmount {type}", target);
            }

            try
            {
                if (move_mount(mounted, string.Empty, -100 /* AT_FDCWD */, target, 4 /* MOVE_MOUNT_F_EMPTY_PATH */) != 0)
                {
                    throw Failure($"move_mount {type}", target);
                }
            }
            finally
            {
                close(mounted);
            }
        }
        finally
        {
            close(context);
        }
    }

    /// <summary>Unmounts; with <paramref name="detach"/>, lazily, so a process still inside it does not keep it busy.</summary>
    public static bool TryUnmount(string target, bool detach = true) => umount2(target, detach ? 2 /* MNT_DETACH */ : 0) == 0;

    /// <summary>The path with every symbolic link resolved (realpath(3)).</summary>
    public static string RealPath(string path)
    {
        var resolved = realpath(path, IntPtr.Zero);
        if (resolved == IntPtr.Zero)
        {
            throw Failure("realpath", path);
        }

        try
        {
            return Marshal.PtrToStringUTF8(resolved)!;
        }
        finally
        {
            Marshal.FreeHGlobal(resolved);
        }
    }

    /// <summary>Sets a path's modification time without following a final symbolic link.</summary>
    public static void SetModifiedTime(string path, DateTimeOffset time) => SetModifiedTime(path, time.ToUnixTimeSeconds() * 1_000_000_000L);

    /// <summary>Sets access and modification time to <paramref name="nanoseconds"/> since the epoch (as
    /// <see cref="FileStatus.ModifiedNanoseconds"/>), without following a final symbolic link.</summary>
    public static void SetModifiedTime(string path, long nanoseconds)
    {
        var times = new TimeSpec[2];
        for (var i = 0; i < 2; i++)
        {
            times[i] = new TimeSpec { Seconds = Math.DivRem(nanoseconds, 1_000_000_000L, out var rest), Nanoseconds = rest };
        }

        if (utimensat(AtFdCwd, path, times, AtSymlinkNoFollow) != 0)
        {
            throw Failure("utimensat", path);
        }
    }

    private static IOException Failure(string call, string path)
        => new($"{call} '{path}': {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int statx(int dirfd, string path, int flags, uint mask, out StatxBuffer buffer);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int lchown(string path, int uid, int gid);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int link(string existing, string newPath);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int mknod(string path, uint mode, ulong device);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint lgetxattr(string path, string name, ref byte value, nuint size);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int lsetxattr(string path, string name, byte[] value, nuint size, int flags);

    // The new mount API through syscall(2): glibc wraps it only from 2.36 (Ubuntu 22.04 has 2.35) and musl not at all.
    // The numbers are the same on x86_64 and arm64 (the syscalls added after 5.1 share one table).
    private const long SysMoveMount = 429, SysFsopen = 430, SysFsconfig = 431, SysFsmount = 432;

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, nint a, nint b, nint c, nint d, nint e);

    private static int fsopen(string type, uint flags)
    {
        var name = Marshal.StringToCoTaskMemUTF8(type);
        try
        {
            return (int)Syscall(SysFsopen, name, (nint)flags, 0, 0, 0);
        }
        finally
        {
            Marshal.FreeCoTaskMem(name);
        }
    }

    private static int fsconfig(int context, uint command, string? key, string? value, int aux)
    {
        var k = key is null ? 0 : Marshal.StringToCoTaskMemUTF8(key);
        var v = value is null ? 0 : Marshal.StringToCoTaskMemUTF8(value);
        try
        {
            return (int)Syscall(SysFsconfig, context, (nint)command, k, v, aux);
        }
        finally
        {
            Marshal.FreeCoTaskMem(k);
            Marshal.FreeCoTaskMem(v);
        }
    }

    private static int fsmount(int context, uint flags, uint attributes) => (int)Syscall(SysFsmount, context, (nint)flags, (nint)attributes, 0, 0);

    private static int move_mount(int fromDirectory, string fromPath, int toDirectory, string toPath, uint flags)
    {
        var from = Marshal.StringToCoTaskMemUTF8(fromPath);
        var to = Marshal.StringToCoTaskMemUTF8(toPath);
        try
        {
            return (int)Syscall(SysMoveMount, fromDirectory, from, toDirectory, to, (nint)flags);
        }
        finally
        {
            Marshal.FreeCoTaskMem(from);
            Marshal.FreeCoTaskMem(to);
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int mount(string source, string target, string type, ulong flags, string? data);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr realpath(string path, IntPtr resolved);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int umount2(string target, int flags);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int utimensat(int dirfd, string path, [In] TimeSpec[] times, int flags);

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    // struct statx from linux/stat.h: 256 bytes, the same on every architecture.
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    private struct StatxBuffer
    {
        [FieldOffset(16)] public uint Links;
        [FieldOffset(20)] public uint Uid;
        [FieldOffset(24)] public uint Gid;
        [FieldOffset(28)] public ushort Mode;
        [FieldOffset(32)] public ulong Inode;
        [FieldOffset(40)] public ulong Size;
        [FieldOffset(48)] public ulong Blocks;
        [FieldOffset(112)] public long ModifiedSeconds;
        [FieldOffset(120)] public uint ModifiedNanoseconds;
        [FieldOffset(128)] public uint RdevMajor;
        [FieldOffset(132)] public uint RdevMinor;
    }
}
