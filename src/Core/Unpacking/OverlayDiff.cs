using Sdk.Containers.IO;
using Sdk.Containers.Layers;

namespace Sdk.Containers.Unpacking;

/// <summary>
/// The layer a step made, from its overlayfs upper directory alone: the cost is what changed, not the size of the root.
/// Each upper entry is compared with the same path in a read-only view of the lower layers, by the same rule as
/// <see cref="RootfsDiff"/> (so a file copied up but left as it was is no change), and both give the same entries for
/// the same change: a character device 0:0 is a whiteout, and below an opaque directory whatever the lower layers had
/// and the upper lacks gets a whiteout of its own, as BuildKit's overlay differ writes it.
/// </summary>
public static class OverlayDiff
{
    /// <param name="upper">The step's upper directory (unmounted).</param>
    /// <param name="lower">The lower layers as one tree (a read-only overlay of them, or the single one).</param>
    /// <param name="ignore">Paths that only existed for the run (mount points made for it): never in the layer.</param>
    /// <param name="sockets">Receives the host paths of the sockets found, which the layer leaves out.</param>
    public static IReadOnlyList<LayerEntry> Compute(string upper, string lower, IReadOnlySet<string>? ignore = null, List<string>? sockets = null)
    {
        ignore ??= new HashSet<string>();
        var changed = new List<string>();
        var whiteouts = new List<string>();
        var statuses = new Dictionary<string, FileStatus>(StringComparer.Ordinal);
        // LowerIsDirectory: whether the lower tree has a real directory at that path. Below anything else (a file, or a
        // symbolic link the step replaced with a directory) nothing is looked up in the lower tree, so no lookup ever
        // follows a link out of it.
        var pending = new Stack<(string Path, bool Hidden, bool LowerIsDirectory)>();
        pending.Push((string.Empty, false, true));
        while (pending.Count > 0)
        {
            var (directory, hidden, lowerIsDirectory) = pending.Pop();
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var child in Directory.EnumerateFileSystemEntries(Path.Combine(upper, directory)))
            {
                var name = Path.GetFileName(child);
                names.Add(name);
                var path = directory.Length == 0 ? name : $"{directory}/{name}";
                var now = Posix.LStat(child);
                var was = default(FileStatus);
                var inLower = lowerIsDirectory && Posix.TryLStat(Path.Combine(lower, path), out was);
                if (ignore.Contains(path))
                {
                    // A mount point made for the run is no change, but what the command wrote below it is.
                    if (now.IsDirectory)
                    {
                        pending.Push((path, hidden, inLower && was.IsDirectory));
                    }

                    continue;
                }

                if (Overlay.IsWhiteout(now))
                {
                    if (inLower)
                    {
                        whiteouts.Add(path);
                    }

                    continue;
                }

                if (now.Type == UnixFileType.Socket)
                {
                    // BuildKit leaves sockets out of the layer.
                    sockets?.Add(child);
                    continue;
                }

                statuses[path] = now;
                if (!inLower || !DiffEntries.Same(was, now))
                {
                    changed.Add(path);
                }

                if (now.IsDirectory)
                {
                    var lowerDirectory = inLower && was.IsDirectory;
                    pending.Push((path, lowerDirectory && (hidden || Overlay.IsOpaque(child)), lowerDirectory));
                }
            }

            if (hidden && lowerIsDirectory)
            {
                // Lower entries an opaque directory hides: deleted, as the merged view shows.
                foreach (var child in Directory.EnumerateFileSystemEntries(Path.Combine(lower, directory)))
                {
                    var name = Path.GetFileName(child);
                    var path = directory.Length == 0 ? name : $"{directory}/{name}";
                    if (!names.Contains(name) && !ignore.Contains(path))
                    {
                        whiteouts.Add(path);
                    }
                }
            }
        }

        return DiffEntries.Build(upper, changed, whiteouts, path => statuses.TryGetValue(path, out var status) ? status : Posix.LStat(Path.Combine(upper, path)));
    }
}
