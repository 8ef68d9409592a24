namespace Sdk.Containers.Layers;

/// <summary>The entries of one layer, sorted and complete: every parent directory is present before its children.</summary>
public sealed class LayerPlan
{
    private LayerPlan(IReadOnlyList<LayerEntry> entries, string description)
    {
        Entries = entries;
        Description = description;
    }

    public IReadOnlyList<LayerEntry> Entries { get; }

    /// <summary>What the layer holds, for history entries and logs.</summary>
    public string Description { get; }

    /// <summary>
    /// Builds a plan from entries in any order: paths are normalised, missing parent directories are added, and the
    /// entries are sorted ordinally so the tar does not depend on the order the file system listed them in.
    /// </summary>
    public static LayerPlan Create(IEnumerable<LayerEntry> entries, string description, int directoryUid = 0, int directoryGid = 0)
    {
        var byPath = new Dictionary<string, LayerEntry>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            var path = NormalizePath(entry.Path);
            if (path.Length == 0)
            {
                continue;
            }

            if (!byPath.TryAdd(path, entry with { Path = path }))
            {
                throw new ContainerException(ErrorCodes.InvalidOutput, $"The layer '{description}' would contain '/{path}' twice.");
            }
        }

        foreach (var path in byPath.Keys.ToArray())
        {
            for (var slash = path.LastIndexOf('/'); slash > 0; slash = path.LastIndexOf('/', slash - 1))
            {
                var parent = path[..slash];
                if (!byPath.TryAdd(parent, new LayerEntry(parent, LayerEntryKind.Directory, LayerEntry.DirectoryMode, Uid: directoryUid, Gid: directoryGid)))
                {
                    break;
                }
            }
        }

        var sorted = byPath.Values.OrderBy(e => e.Path, StringComparer.Ordinal).ToArray();
        return new LayerPlan(sorted, description);
    }

    /// <summary>The plan with the entry at <paramref name="path"/> (and, when <paramref name="andBelow"/>, everything
    /// under it; "" is the root) owned by <paramref name="uid"/>:<paramref name="gid"/>; the rest as it is.</summary>
    public LayerPlan OwnedBy(int uid, int gid, string path, bool andBelow)
    {
        var owned = NormalizePath(path);
        var prefix = owned + "/";
        bool Owned(LayerEntry e) => e.Path == owned || (andBelow && (owned.Length == 0 || e.Path.StartsWith(prefix, StringComparison.Ordinal)));
        return new LayerPlan(Entries.Select(e => Owned(e) ? e with { Uid = uid, Gid = gid } : e).ToArray(), Description);
    }

    /// <summary>
    /// Plans a layer holding the files of <paramref name="sourceDirectory"/> under <paramref name="imageDirectory"/>.
    /// Modes are normalised to 0755 for directories and executables and 0644 otherwise, so the bytes depend on
    /// contents, names and the executable bit only (not on umask or timestamps).
    /// </summary>
    public static LayerPlan FromDirectory(string sourceDirectory, string imageDirectory, string description, Func<string, bool>? include = null)
    {
        var root = new DirectoryInfo(sourceDirectory);
        if (!root.Exists)
        {
            throw new ContainerException(ErrorCodes.PublishDirectoryMissing, $"The directory '{sourceDirectory}' does not exist; publish the project before building its image.");
        }

        var target = NormalizePath(imageDirectory);
        var entries = new List<LayerEntry> { new(target, LayerEntryKind.Directory, LayerEntry.DirectoryMode) };
        foreach (var info in root.EnumerateFileSystemInfos("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = false }))
        {
            var relative = Path.GetRelativePath(root.FullName, info.FullName).Replace('\\', '/');
            if (include is not null && !include(relative))
            {
                continue;
            }

            entries.Add(FromFileSystem(info, target.Length == 0 ? relative : $"{target}/{relative}"));
        }

        return Create(entries, description);
    }

    public static LayerEntry FromFileSystem(FileSystemInfo info, string imagePath)
    {
        if (info.LinkTarget is { } link)
        {
            return new LayerEntry(imagePath, LayerEntryKind.Symlink, (UnixFileMode)0b111_111_111, LinkTarget: link);
        }

        if (info is DirectoryInfo)
        {
            return new LayerEntry(imagePath, LayerEntryKind.Directory, LayerEntry.DirectoryMode);
        }

        const UnixFileMode anyExecute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        var mode = (info.UnixFileMode & anyExecute) != 0 ? LayerEntry.ExecutableMode : LayerEntry.RegularMode;
        return new LayerEntry(imagePath, LayerEntryKind.File, mode, SourcePath: info.FullName);
    }

    internal static string NormalizePath(string path)
    {
        var parts = path.Replace('\\', '/').Split('/', StringSplitOptions.RemoveEmptyEntries);
        foreach (var part in parts)
        {
            if (part == "..")
            {
                throw new ContainerException(ErrorCodes.UnsafeLayerEntry, $"The image path '{path}' contains '..'; paths in an image must stay under /.");
            }
        }

        return string.Join('/', parts.Where(p => p != "."));
    }
}
