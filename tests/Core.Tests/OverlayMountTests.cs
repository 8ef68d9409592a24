using Sdk.Containers.IO;
using Sdk.Containers.Unpacking;

namespace Sdk.Containers.Tests;

/// <summary>Overlay mounts of more layers than one page of mount(2) options can name (a deep image, a long cache path).</summary>
public sealed class OverlayMountTests
{
    [Fact]
    public void MoreLayersThanOnePageOfOptionsAreMountedInOrder()
    {
        Assert.True(Environment.IsPrivilegedProcess, "overlay tests need root (the test command runs as root).");
        using var work = new TempDirectory();

        // 120 lowers of about 70 characters each: some 8,400 bytes of lowerdir, twice what mount(2) takes.
        var lowers = Enumerable.Range(0, 120).Select(i => work.Combine($"snapshots/{i:D3}-{new string('l', 40)}/fs")).ToList();
        for (var i = 0; i < lowers.Count; i++)
        {
            Directory.CreateDirectory(lowers[i]);
            File.WriteAllText(Path.Combine(lowers[i], $"layer-{i:D3}"), i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            File.WriteAllText(Path.Combine(lowers[i], "top"), $"from layer {i}");
        }

        Assert.True(string.Join(':', lowers).Length > 4096);
        var (upper, overlayWork, merged, view) = (work.Combine("upper"), work.Combine("work"), work.Combine("merged"), work.Combine("view"));
        foreach (var d in new[] { upper, overlayWork, merged, view })
        {
            Directory.CreateDirectory(d);
        }

        Overlay.MountWritable(merged, lowers, upper, overlayWork);
        try
        {
            // Every layer is there, and the last listed (the top of the image) wins.
            Assert.Equal(121, Directory.GetFiles(merged).Length);
            Assert.Equal("from layer 119", File.ReadAllText(Path.Combine(merged, "top")));
            File.WriteAllText(Path.Combine(merged, "layer-000"), "changed");
            Assert.Equal("changed", File.ReadAllText(Path.Combine(upper, "layer-000")));
        }
        finally
        {
            Assert.True(Posix.TryUnmount(merged));
        }

        Overlay.MountReadOnly(view, lowers);
        try
        {
            Assert.Equal("from layer 119", File.ReadAllText(Path.Combine(view, "top")));
            Assert.Equal("0", File.ReadAllText(Path.Combine(view, "layer-000")));
            Assert.ThrowsAny<IOException>(() => File.WriteAllText(Path.Combine(view, "new"), "x"));
        }
        finally
        {
            Assert.True(Posix.TryUnmount(view));
        }
    }
}
