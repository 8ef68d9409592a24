using System.Net.Sockets;
using Sdk.Containers.IO;
using Sdk.Containers.Layers;
using Sdk.Containers.Unpacking;

namespace Sdk.Containers.Tests;

/// <summary>
/// The overlay differ against the walking one: the same change made on an overlayfs mount and on a copied root gives
/// the same layer entries. Needs root and overlayfs, as RUN does; the test says so when it has neither.
/// </summary>
public sealed class OverlayDiffTests
{
    [Fact]
    public void TheUpperDirectoryGivesTheSameEntriesAsWalkingTheRoot()
    {
        Assert.True(Environment.IsPrivilegedProcess, "overlay tests need root (the test command runs as root).");
        using var work = new TempDirectory();
        var lower = work.Combine("lower");
        MakeBase(lower);
        var copy = work.Combine("copy");
        using (var cp = System.Diagnostics.Process.Start("cp", ["-a", lower, copy]))
        {
            cp.WaitForExit();
            Assert.Equal(0, cp.ExitCode);
        }

        var (upper, overlayWork, merged) = (work.Combine("upper"), work.Combine("work"), work.Combine("merged"));
        foreach (var d in new[] { upper, overlayWork, merged })
        {
            Directory.CreateDirectory(d);
        }

        var before = RootfsSnapshot.Take(copy);
        Overlay.MountWritable(merged, [lower], upper, overlayWork);
        try
        {
            Change(merged);
        }
        finally
        {
            Posix.TryUnmount(merged);
        }

        Change(copy);
        var walked = RootfsDiff.Compute(before, RootfsSnapshot.Take(copy));
        var fromUpper = OverlayDiff.Compute(upper, lower);

        Assert.Equal(Describe(walked), Describe(fromUpper));
        var paths = fromUpper.Select(e => e.Path).ToHashSet();
        Assert.Contains("etc/.wh.gone", paths);
        Assert.Contains("opt/x/.wh.inner", paths);
        Assert.Contains("opt/x/new", paths);
        Assert.Contains("tmp/fifo", paths);
        Assert.Contains("tmp/null", paths);
        Assert.DoesNotContain("tmp/server.sock", paths);
        Assert.DoesNotContain("etc/touched-same", paths);
        Assert.DoesNotContain(paths, p => p.EndsWith(".wh..wh..opq", StringComparison.Ordinal));
        Assert.Equal(LayerEntryKind.CharacterDevice, fromUpper.Single(e => e.Path == "tmp/null").Kind);
        Assert.Equal((1, 3), (fromUpper.Single(e => e.Path == "tmp/null").DeviceMajor, fromUpper.Single(e => e.Path == "tmp/null").DeviceMinor));
        Assert.Equal(LayerEntryKind.HardLink, fromUpper.Single(e => e.Path == "usr/second").Kind);
    }

    private static void MakeBase(string root)
    {
        foreach (var d in new[] { "etc", "opt/x", "tmp", "usr", "var/empty" })
        {
            Directory.CreateDirectory(Path.Combine(root, d));
        }

        File.WriteAllText(Path.Combine(root, "etc", "motd"), "hello");
        File.WriteAllText(Path.Combine(root, "etc", "gone"), "bye");
        File.WriteAllText(Path.Combine(root, "etc", "touched-same"), "same");
        File.SetLastWriteTimeUtc(Path.Combine(root, "etc", "touched-same"), new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        File.WriteAllText(Path.Combine(root, "opt", "x", "inner"), "inner");
        File.SetUnixFileMode(Path.Combine(root, "tmp"), (UnixFileMode)Convert.ToInt32("1777", 8));
    }

    /// <summary>What a RUN might do: edit, delete, recreate a directory, make a fifo, a device and a socket, link.</summary>
    private static void Change(string root)
    {
        File.WriteAllText(Path.Combine(root, "etc", "motd"), "changed!");
        File.Delete(Path.Combine(root, "etc", "gone"));

        // Opened for writing and rewritten with the same bytes and time: copied up, yet no change.
        var same = Path.Combine(root, "etc", "touched-same");
        var time = File.GetLastWriteTimeUtc(same);
        File.WriteAllText(same, "same");
        File.SetLastWriteTimeUtc(same, time);
        Directory.Delete(Path.Combine(root, "opt", "x"), recursive: true);
        Directory.CreateDirectory(Path.Combine(root, "opt", "x"));
        File.WriteAllText(Path.Combine(root, "opt", "x", "new"), "new");
        Posix.MakeFifo(Path.Combine(root, "tmp", "fifo"), (UnixFileMode)Convert.ToInt32("644", 8));
        Posix.MakeDevice(Path.Combine(root, "tmp", "null"), UnixFileType.CharacterDevice, (UnixFileMode)Convert.ToInt32("666", 8), 1, 3);
        using (var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            socket.Bind(new UnixDomainSocketEndPoint(Path.Combine(root, "tmp", "server.sock")));
        }

        File.WriteAllText(Path.Combine(root, "usr", "first"), "linked");
        Posix.Link(Path.Combine(root, "usr", "first"), Path.Combine(root, "usr", "second"));
    }

    private static List<string> Describe(IEnumerable<LayerEntry> entries)
        => entries.Select(e => $"{e.Path} {e.Kind} {Convert.ToString((int)e.Mode, 8)} {e.Uid}:{e.Gid} {e.LinkTarget} {e.DeviceMajor},{e.DeviceMinor} {(e.SourcePath is { } s ? File.ReadAllText(s) : string.Empty)}").ToList();
}
