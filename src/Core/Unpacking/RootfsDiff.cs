using Sdk.Containers.IO;
using Sdk.Containers.Layers;

namespace Sdk.Containers.Unpacking;

/// <summary>What lstat said of every path under a root, keyed by image path ("etc/passwd"); links are not followed.</summary>
public sealed class RootfsSnapshot
{
    private RootfsSnapshot(string root, Dictionary<string, FileStatus> entries)
    {
        Root = root;
        Entries = entries;
    }

    public string Root { get; }

    public IReadOnlyDictionary<string, FileStatus> Entries { get; }

    public static RootfsSnapshot Take(string root, CancellationToken cancellationToken = default)
    {
        var entries = new Dictionary<string, FileStatus>(StringComparer.Ordinal);
        var pending = new Stack<(string Host, string Image)>();
        pending.Push((root, string.Empty));
        while (pending.Count > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (directory, image) = pending.Pop();
            foreach (var child in Directory.EnumerateFileSystemEntries(directory))
            {
                var childImage = image.Length == 0 ? Path.GetFileName(child) : $"{image}/{Path.GetFileName(child)}";
                var status = Posix.LStat(child);
                entries[childImage] = status;
                if (status.IsDirectory)
                {
                    pending.Push((child, childImage));
                }
            }
        }

        return new RootfsSnapshot(root, entries);
    }
}

/// <summary>
/// The layer a command's changes make, from snapshots of the root before and after it ran, as a container engine's
/// naive differ computes it: new and changed paths with their parents, `.wh.name` for what was deleted (only the
/// topmost of a deleted tree), and `.wh..wh..opq` in a directory that was deleted and made again, whose whole content
/// is then in the layer.
/// </summary>
public static class RootfsDiff
{
    /// <param name="ignore">Paths that only existed for the run (mount points made for it): never in the layer.</param>
    public static IReadOnlyList<LayerEntry> Compute(RootfsSnapshot before, RootfsSnapshot after, IReadOnlySet<string>? ignore = null)
    {
        var root = after.Root;
        ignore ??= new HashSet<string>();
        var changed = new SortedSet<string>(StringComparer.Ordinal);
        var opaque = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (path, now) in after.Entries.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            if (ignore.Contains(path))
            {
                continue;
            }

            if (UnderAny(path, opaque) || !before.Entries.TryGetValue(path, out var was) || was.Type != now.Type)
            {
                changed.Add(path);
                continue;
            }

            if (now.IsDirectory && was.Inode != now.Inode)
            {
                // Deleted and made again: lower layers' content must not show through.
                opaque.Add(path);
                changed.Add(path);
                continue;
            }

            if (was.Mode != now.Mode || was.Uid != now.Uid || was.Gid != now.Gid
                || (!now.IsDirectory && (was.Size != now.Size || was.ModifiedNanoseconds != now.ModifiedNanoseconds || was.Inode != now.Inode)))
            {
                changed.Add(path);
            }
        }

        var deleted = before.Entries.Keys.Where(p => !after.Entries.ContainsKey(p) && !ignore.Contains(p)).Order(StringComparer.Ordinal).ToList();
        var whiteouts = new List<string>();
        var deletedSet = new HashSet<string>(deleted, StringComparer.Ordinal);
        foreach (var path in deleted)
        {
            // Only the topmost deletion is recorded, and none under a directory that was replaced (by an opaque
            // directory or by something that is not a directory at all, which hides everything below it).
            var parent = Parent(path);
            if (parent.Length > 0 && (deletedSet.Contains(parent) || UnderAny(parent, opaque) || opaque.Contains(parent)
                || !after.Entries.TryGetValue(parent, out var parentNow) || !parentNow.IsDirectory || !before.Entries[parent].IsDirectory))
            {
                continue;
            }

            whiteouts.Add(path);
        }

        var entries = new Dictionary<string, LayerEntry>(StringComparer.Ordinal);
        var firstLinkOfInode = new Dictionary<ulong, string>();
        foreach (var path in changed)
        {
            AddParents(root, path, after, entries);
            entries[path] = EntryFor(root, path, after.Entries[path], firstLinkOfInode);
        }

        foreach (var path in opaque)
        {
            var marker = $"{path}/.wh..wh..opq";
            entries[marker] = new LayerEntry(marker, LayerEntryKind.File, 0);
        }

        foreach (var path in whiteouts)
        {
            AddParents(root, path, after, entries);
            var parent = Parent(path);
            var name = $"{(parent.Length == 0 ? string.Empty : parent + "/")}.wh.{Path.GetFileName(path)}";
            entries[name] = new LayerEntry(name, LayerEntryKind.File, 0);
        }

        return [.. entries.Values.OrderBy(e => e.Path, StringComparer.Ordinal)];
    }

    /// <summary>A layer entry for a path of a root, with its mode, owner and kind as they are on disk.</summary>
    public static LayerEntry EntryFor(string root, string path, FileStatus status, Dictionary<ulong, string>? firstLinkOfInode = null)
    {
        var host = Path.Combine(root, path);
        switch (status.Type)
        {
            case UnixFileType.Directory:
                return new LayerEntry(path, LayerEntryKind.Directory, status.Mode, Uid: status.Uid, Gid: status.Gid);
            case UnixFileType.Symlink:
                return new LayerEntry(path, LayerEntryKind.Symlink, status.Mode, LinkTarget: new FileInfo(host).LinkTarget, Uid: status.Uid, Gid: status.Gid);
            case UnixFileType.Fifo:
                return new LayerEntry(path, LayerEntryKind.Fifo, status.Mode, Uid: status.Uid, Gid: status.Gid);
            case UnixFileType.Regular:
                if (status.Links > 1 && firstLinkOfInode is not null && !firstLinkOfInode.TryAdd(status.Inode, path))
                {
                    return new LayerEntry(path, LayerEntryKind.HardLink, status.Mode, LinkTarget: firstLinkOfInode[status.Inode], Uid: status.Uid, Gid: status.Gid);
                }

                return new LayerEntry(path, LayerEntryKind.File, status.Mode, SourcePath: host, Uid: status.Uid, Gid: status.Gid);
            default:
                throw new ContainerException(ErrorCodes.UnsafeLayerEntry, $"'/{path}' is a {status.Type}; an image layer cannot hold device nodes or sockets.");
        }
    }

    private static void AddParents(string root, string path, RootfsSnapshot after, Dictionary<string, LayerEntry> entries)
    {
        for (var parent = Parent(path); parent.Length > 0 && !entries.ContainsKey(parent); parent = Parent(parent))
        {
            entries[parent] = EntryFor(root, parent, after.Entries[parent]);
        }
    }

    private static bool UnderAny(string path, HashSet<string> directories)
    {
        for (var parent = Parent(path); parent.Length > 0; parent = Parent(parent))
        {
            if (directories.Contains(parent))
            {
                return true;
            }
        }

        return false;
    }

    private static string Parent(string path)
    {
        var slash = path.LastIndexOf('/');
        return slash < 0 ? string.Empty : path[..slash];
    }
}
