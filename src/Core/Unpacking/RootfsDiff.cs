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
/// The layer a command's changes make, from snapshots of the root before and after it ran, as BuildKit's walking
/// differ computes it: new and changed paths with their parents and `.wh.name` for what was deleted (only the topmost
/// of a deleted tree). A directory deleted and made again is no different from one that stayed: what it lost gets a
/// whiteout each, so nothing depends on whether the file system gave the new directory the old inode number.
/// </summary>
public static class RootfsDiff
{
    /// <param name="ignore">Paths that only existed for the run (mount points made for it): never in the layer.</param>
    public static IReadOnlyList<LayerEntry> Compute(RootfsSnapshot before, RootfsSnapshot after, IReadOnlySet<string>? ignore = null)
    {
        ignore ??= new HashSet<string>();
        var changed = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var (path, now) in after.Entries)
        {
            // A socket belongs to the process that made it (the compiler server's, in /tmp): BuildKit leaves sockets
            // out of the layer, and so do we.
            if (ignore.Contains(path) || now.Type == UnixFileType.Socket)
            {
                continue;
            }

            if (!before.Entries.TryGetValue(path, out var was) || !DiffEntries.Same(was, now))
            {
                changed.Add(path);
            }
        }

        var whiteouts = new List<string>();
        foreach (var path in before.Entries.Keys)
        {
            if (after.Entries.ContainsKey(path) || ignore.Contains(path))
            {
                continue;
            }

            // Only the topmost deletion is recorded, and none under a directory that was replaced by something that
            // is not a directory, which hides everything below it.
            var parent = DiffEntries.Parent(path);
            if (parent.Length > 0 && (!after.Entries.TryGetValue(parent, out var parentNow) || !parentNow.IsDirectory || !before.Entries[parent].IsDirectory))
            {
                continue;
            }

            whiteouts.Add(path);
        }

        return DiffEntries.Build(after.Root, changed, whiteouts, path => after.Entries[path]);
    }

    /// <summary>A layer entry for a path of a root, with its mode, owner and kind as they are on disk.</summary>
    public static LayerEntry EntryFor(string root, string path, FileStatus status, Dictionary<ulong, string>? firstLinkOfInode = null)
        => DiffEntries.EntryFor(root, path, status, firstLinkOfInode);
}

/// <summary>What both differs share: when a path counts as unchanged, and how changes become layer entries.</summary>
internal static class DiffEntries
{
    /// <summary>BuildKit's rule: directories by mode and owner, everything else also by size and modification time.</summary>
    public static bool Same(FileStatus was, FileStatus now)
        => was.Type == now.Type && was.Mode == now.Mode && was.Uid == now.Uid && was.Gid == now.Gid
           && was.DeviceMajor == now.DeviceMajor && was.DeviceMinor == now.DeviceMinor
           && (now.IsDirectory || (was.Size == now.Size && was.ModifiedNanoseconds == now.ModifiedNanoseconds));

    /// <summary>Entries for changed paths (with every parent) and whiteouts, sorted by path.</summary>
    public static IReadOnlyList<LayerEntry> Build(string root, IEnumerable<string> changed, IEnumerable<string> whiteouts, Func<string, FileStatus> status)
    {
        var entries = new Dictionary<string, LayerEntry>(StringComparer.Ordinal);
        var firstLinkOfInode = new Dictionary<ulong, string>();
        foreach (var path in changed.Order(StringComparer.Ordinal))
        {
            AddParents(root, path, status, entries);
            entries[path] = EntryFor(root, path, status(path), firstLinkOfInode);
        }

        foreach (var path in whiteouts)
        {
            AddParents(root, path, status, entries);
            var parent = Parent(path);
            var name = $"{(parent.Length == 0 ? string.Empty : parent + "/")}.wh.{Path.GetFileName(path)}";
            entries[name] = new LayerEntry(name, LayerEntryKind.File, 0);
        }

        return [.. entries.Values.OrderBy(e => e.Path, StringComparer.Ordinal)];
    }

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
            case UnixFileType.CharacterDevice or UnixFileType.BlockDevice:
                return new LayerEntry(path, status.Type == UnixFileType.CharacterDevice ? LayerEntryKind.CharacterDevice : LayerEntryKind.BlockDevice, status.Mode, Uid: status.Uid, Gid: status.Gid, DeviceMajor: (int)status.DeviceMajor, DeviceMinor: (int)status.DeviceMinor);
            case UnixFileType.Regular:
                if (status.Links > 1 && firstLinkOfInode is not null && !firstLinkOfInode.TryAdd(status.Inode, path))
                {
                    return new LayerEntry(path, LayerEntryKind.HardLink, status.Mode, LinkTarget: firstLinkOfInode[status.Inode], Uid: status.Uid, Gid: status.Gid);
                }

                return new LayerEntry(path, LayerEntryKind.File, status.Mode, SourcePath: host, Uid: status.Uid, Gid: status.Gid);
            default:
                throw new ContainerException(ErrorCodes.UnsafeLayerEntry, $"'/{path}' is a {status.Type}; an image layer cannot hold it.");
        }
    }

    private static void AddParents(string root, string path, Func<string, FileStatus> status, Dictionary<string, LayerEntry> entries)
    {
        for (var parent = Parent(path); parent.Length > 0 && !entries.ContainsKey(parent); parent = Parent(parent))
        {
            entries[parent] = EntryFor(root, parent, status(parent));
        }
    }

    public static string Parent(string path)
    {
        var slash = path.LastIndexOf('/');
        return slash < 0 ? string.Empty : path[..slash];
    }
}
