using Sdk.Containers.IO;
using Sdk.Containers.Unpacking;

namespace Sdk.Containers.Dockerfiles;

/// <summary>How one COPY or ADD copies: owner and mode overrides, exclusions, and whether ADD may extract archives.</summary>
public sealed record CopyOptions
{
    public (int Uid, int Gid)? Owner { get; init; }

    public UnixFileMode? Mode { get; init; }

    public DockerIgnore Exclude { get; init; } = DockerIgnore.Empty;

    /// <summary>ADD: a local tar (plain, gzip, bzip2, xz, zstd) is extracted into the destination.</summary>
    public bool ExtractArchives { get; init; }

    /// <summary>For messages: "Dockerfile:12".</summary>
    public required string Where { get; init; }
}

/// <summary>
/// Applies COPY and ADD to a root file system with Docker's rules: a directory source copies its contents; a file
/// goes into the destination when that ends in '/' or is a directory already, else becomes it; several sources need a
/// directory destination ending in '/'; missing parent directories are made (owned like the copied files). The layer is
/// the difference this makes to the root, which the builder computes afterwards.
/// </summary>
public static class FileCopier
{
    private const UnixFileMode DirectoryMode = (UnixFileMode)0b111_101_101;

    public static async Task CopyAsync(string rootfs, SourceTree tree, IReadOnlyList<SourceMatch> sources, string destination, CopyOptions options, CancellationToken cancellationToken)
    {
        var destinationIsDirectory = destination.EndsWith('/') || destination.EndsWith("/.", StringComparison.Ordinal) || destination == ".";
        if (sources.Count > 1 && !destinationIsDirectory)
        {
            throw new ContainerException(ErrorCodes.CopyDestinationNotDirectory, $"{options.Where}: there are {sources.Count} sources, so the destination '{destination}' must be a directory ending in '/'.");
        }

        var components = RootfsPath.Components(destination, options.Where);
        foreach (var source in sources)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var status = source.Status;
            var sourceHost = source.HostPath;
            if (status.Type == UnixFileType.Symlink)
            {
                // The named source itself is followed (inside its tree); links below it are copied as links.
                (sourceHost, _) = RootfsPath.ResolveFull(tree.Root, source.RelativePath.Split('/'), tree.Description);
                if (!Posix.TryLStat(sourceHost, out status))
                {
                    throw new ContainerException(ErrorCodes.CopySourceDangling, $"{options.Where}: \"/{source.RelativePath}\" is a symbolic link to something that does not exist in {tree.Description}.");
                }
            }

            if (status.IsDirectory)
            {
                var target = EnsureDirectory(rootfs, components, options, status, tree);
                CopyTree(tree, source.RelativePath, target, options, cancellationToken);
                continue;
            }

            if (options.ExtractArchives && status.Type == UnixFileType.Regular && LayerUnpacker.IsArchive(sourceHost))
            {
                var target = EnsureDirectory(rootfs, components, options, null, tree);
                // The archive's owners are kept: BuildKit applies --chown to copied files, not to extracted ones.
                await LayerUnpacker.UnpackAsync(File.OpenRead(sourceHost), target, new UnpackOptions { Description = $"{options.Where}: the archive {source.RelativePath}", ApplyWhiteouts = false }, cancellationToken).ConfigureAwait(false);
                continue;
            }

            var fileTarget = FileTarget(rootfs, components, destinationIsDirectory, Path.GetFileName(source.RelativePath), options);
            CopyEntry(sourceHost, status, fileTarget, options, tree);
        }
    }

    /// <summary>Where a single file goes: inside the destination when it is (or is written as) a directory.</summary>
    public static string FileTarget(string rootfs, string[] components, bool destinationIsDirectory, string name, CopyOptions options)
    {
        if (components.Length > 0 && !destinationIsDirectory)
        {
            var host = Path.Combine(MakeParents(rootfs, components, options.Owner ?? (0, 0), options.Where), components[^1]);
            if (!Posix.TryLStat(host, out var existing))
            {
                return host;
            }

            if (existing.IsDirectory)
            {
                return Path.Combine(host, name);
            }

            if (existing.Type == UnixFileType.Symlink && RootfsPath.ResolveFull(rootfs, components, options.Where).HostPath is var resolved
                && Posix.TryLStat(resolved, out var target) && target.IsDirectory)
            {
                return Path.Combine(resolved, name);
            }

            return host;
        }

        var directory = EnsureDirectory(rootfs, components, options, null, null);
        return Path.Combine(directory, name);
    }

    private static string EnsureDirectory(string rootfs, string[] components, CopyOptions options, FileStatus? sourceDirectory, SourceTree? tree)
    {
        if (components.Length == 0)
        {
            return rootfs;
        }

        var host = Path.Combine(MakeParents(rootfs, components, options.Owner ?? (0, 0), options.Where), components[^1]);
        if (Posix.TryLStat(host, out var existing))
        {
            if (existing.IsDirectory)
            {
                return host;
            }

            if (existing.Type == UnixFileType.Symlink)
            {
                var (resolved, _) = RootfsPath.ResolveFull(rootfs, components, options.Where);
                if (Directory.Exists(resolved))
                {
                    return resolved;
                }
            }

            throw new ContainerException(ErrorCodes.CopyDestinationConflict, $"{options.Where}: the destination '/{string.Join('/', components)}' exists and is not a directory.");
        }

        Directory.CreateDirectory(host);

        // As BuildKit: a destination made for a copy is 0755 and belongs to --chown's owner or root, whatever the
        // source directory's own mode and owner.
        SetMetadata(host, options.Mode ?? DirectoryMode, options.Owner ?? (0, 0));
        return host;
    }

    private static void CopyTree(SourceTree tree, string relative, string target, CopyOptions options, CancellationToken cancellationToken)
    {
        var prefix = relative.Length == 0 ? 0 : relative.Length + 1;

        // Copied directories keep their source's time, set once their content is in (writing into one changes it).
        var made = new List<(string Host, long Time)>();
        foreach (var entry in tree.Walk(relative))
        {
            cancellationToken.ThrowIfCancellationRequested();
            // --exclude patterns are relative to the source being copied, as in BuildKit.
            var inner = entry.RelativePath[prefix..];
            if (!options.Exclude.IsEmpty && options.Exclude.IsExcluded(inner))
            {
                continue;
            }

            var host = Path.Combine(target, inner);
            if (entry.Status.IsDirectory)
            {
                if (Posix.TryLStat(host, out var existing))
                {
                    if (existing.IsDirectory)
                    {
                        continue;
                    }

                    LayerUnpacker.Remove(host);
                }

                Directory.CreateDirectory(host);
                SetMetadata(host, options.Mode ?? entry.Status.Mode, Owner(options, entry.Status, tree));
                made.Add((host, entry.Status.ModifiedNanoseconds));
                continue;
            }

            CopyEntry(entry.HostPath, entry.Status, host, options, tree);
        }

        for (var i = made.Count - 1; i >= 0; i--)
        {
            Posix.SetModifiedTime(made[i].Host, made[i].Time);
        }
    }

    // Below this, File.Copy (copy_file_range, reflinks) is as good; above, holes matter.
    private const long SparseThreshold = 1L << 20;

    private static void CopyEntry(string sourceHost, FileStatus status, string target, CopyOptions options, SourceTree tree)
    {
        if (Posix.TryLStat(target, out var existing))
        {
            if (existing.IsDirectory && status.Type != UnixFileType.Directory)
            {
                throw new ContainerException(ErrorCodes.CopyDestinationConflict, $"{options.Where}: cannot copy the file {Path.GetFileName(sourceHost)} over the directory that is already at its destination.");
            }

            File.Delete(target);
        }

        switch (status.Type)
        {
            case UnixFileType.Symlink:
                File.CreateSymbolicLink(target, new FileInfo(sourceHost).LinkTarget!);
                SetOwner(target, Owner(options, status, tree));
                Posix.SetModifiedTime(target, status.ModifiedNanoseconds);
                return;
            case UnixFileType.Regular:
                // The source's modification time is kept, as BuildKit keeps it: tools read it (ASP.NET Core's static
                // web assets put it in their Last-Modified headers).
                if (status.Size >= SparseThreshold && Posix.AllocatedBytes(sourceHost) is >= 0 and var allocated && allocated < status.Size)
                {
                    // A sparse file keeps its holes (File.Copy would allocate every block of a sparse model file);
                    // any other goes through File.Copy, which reflinks where the file system can.
                    SparseCopy.CopyFile(sourceHost, target);
                }
                else
                {
                    File.Copy(sourceHost, target);
                }

                SetMetadata(target, options.Mode ?? status.Mode, Owner(options, status, tree));
                Posix.SetModifiedTime(target, status.ModifiedNanoseconds);
                return;
            default:
                // Fifos, sockets and devices are not content; BuildKit skips them as well.
                return;
        }
    }

    /// <summary>Makes the missing parent directories of a path in the root (0755, with the given owner) and returns
    /// the host path of its parent, links followed inside the root.</summary>
    internal static string MakeParents(string rootfs, string[] components, (int Uid, int Gid) owner, string where)
        => RootfsPath.ResolveParent(rootfs, components, where, (directory, _) => SetMetadata(directory, DirectoryMode, owner)).HostPath;

    private static (int, int) Owner(CopyOptions options, FileStatus? status, SourceTree? tree)
        => options.Owner ?? (tree is { IsContext: false } && status is { } s ? (s.Uid, s.Gid) : (0, 0));

    internal static void SetMetadata(string host, UnixFileMode mode, (int Uid, int Gid) owner)
    {
        SetOwner(host, owner);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(host, mode);
        }
    }

    private static void SetOwner(string host, (int Uid, int Gid) owner)
    {
        if (Environment.IsPrivilegedProcess)
        {
            Posix.LChown(host, owner.Uid, owner.Gid);
        }
    }
}
