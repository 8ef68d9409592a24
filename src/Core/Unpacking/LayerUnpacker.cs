using System.Formats.Tar;
using Sdk.Containers.IO;
using Sdk.Containers.Layers;

namespace Sdk.Containers.Unpacking;

public sealed record UnpackOptions
{
    /// <summary>How the user knows the archive ("layer 3 of the base", "ADD rootfs.tar.xz"), for messages.</summary>
    public required string Description { get; init; }

    /// <summary>Layer semantics: `.wh.name` deletes name from lower layers, `.wh..wh..opq` empties a directory.
    /// Off for ADD, which extracts an archive as it is.</summary>
    public bool ApplyWhiteouts { get; init; } = true;

    /// <summary>When set, every entry gets this owner instead of the archive's (ADD --chown).</summary>
    public (int Uid, int Gid)? Owner { get; init; }

    /// <summary>Device nodes are made (root only) instead of refused: a build's own root holds what its RUN steps
    /// made, as BuildKit's does; archives from outside (ADD) never make one.</summary>
    public bool AllowDeviceNodes { get; init; }

    /// <summary>Owners are only set when we may (root); otherwise files belong to whoever runs the build.</summary>
    public bool SetOwners { get; init; } = Environment.IsPrivilegedProcess;

    /// <summary>The most tar an archive may hold (a decompression bomb stops here); <see cref="UnpackLimits.MaxBytes"/> when null.</summary>
    public long? MaxBytes { get; init; }

    /// <summary>A layer's diff_id from its image's config: the unpack fails when the content hashes otherwise.</summary>
    public Digests.Digest? ExpectedDiffId { get; init; }
}

/// <summary>
/// Extracts a layer tar onto a root file system, as a container engine applies a layer: whiteouts delete, entries
/// replace what was there, owners, modes, symbolic and hard links are kept. Nothing is ever written outside the root:
/// absolute names, "..", links climbing out of it, hard links to outside and device nodes are refused with the entry
/// named, and an entry may appear only once.
/// </summary>
public static class LayerUnpacker
{
    private const string WhiteoutPrefix = ".wh.";
    private const string OpaqueMarker = ".wh..wh..opq";

    /// <summary>Whether a file is a tar archive (compressed or not) that ADD extracts, as Docker decides: by content.</summary>
    public static bool IsArchive(string path) => LayerReader.IsTarArchive(path);

    private static bool IsDiskFull(IOException ex) => ex.HResult == 28 /* ENOSPC */ || ex.Message.Contains("No space left", StringComparison.Ordinal);

    /// <summary>
    /// Applies a layer blob (compressed or not) onto a root, checking its content against the layer's diff_id as it
    /// goes: a layer that is not what its image's config says fails here, and the caller's root is not kept.
    /// </summary>
    public static Task UnpackLayerAsync(Layer layer, string root, string description, CancellationToken cancellationToken, bool allowDeviceNodes = false)
        => UnpackAsync(layer.OpenBlob(), root, new UnpackOptions { Description = description, AllowDeviceNodes = allowDeviceNodes, ExpectedDiffId = layer.DiffId }, cancellationToken);

    /// <summary>Unpacks an archive, compressed or not, from a seekable stream (disposed here) onto a root.</summary>
    public static async Task UnpackAsync(Stream archive, string root, UnpackOptions options, CancellationToken cancellationToken)
    {
        var written = new HashSet<string>(StringComparer.Ordinal);
        var opaque = new List<(string Host, string Image)>();
        var directoryTimes = new List<(string Host, DateTimeOffset Time)>();
        var limit = options.MaxBytes ?? UnpackLimits.MaxBytes;
        await using var reader = LayerReader.Open(archive, new LayerReadOptions
        {
            Description = options.Description,
            ExpectedDiffId = options.ExpectedDiffId,
            AnyArchive = options.ExpectedDiffId is null,
            Budget = (limit, max => new ContainerException(ErrorCodes.LayerTooLarge, $"{options.Description} unpacks to more than {max:N0} bytes, the most one archive may ({UnpackLimits.UnpackSetting}); it is refused as a decompression bomb. If the content is real, raise {UnpackLimits.UnpackSetting}.")),
        });
        UnpackLimits.EnsureSpace(root, 0, options.Description);
        try
        {
            while (await reader.NextAsync(cancellationToken).ConfigureAwait(false) is { } entry)
            {
                if (entry.EntryType is TarEntryType.GlobalExtendedAttributes)
                {
                    continue;
                }

                try
                {
                    await ApplyAsync(entry, root, options, written, opaque, directoryTimes, cancellationToken).ConfigureAwait(false);
                }
                catch (IOException ex) when (IsDiskFull(ex))
                {
                    throw new ContainerException(ErrorCodes.DiskFull, $"{options.Description}, entry '{entry.Name}': the file system of {root} is full ({ex.Message.TrimEnd('.')}); free space there, or set SDK_CONTAINERS_CACHE to a directory on a larger disk.", ex);
                }
                catch (Exception ex) when (ex is not (ContainerException or OperationCanceledException) && !LayerReader.IsCorruption(ex))
                {
                    throw new ContainerException(ErrorCodes.LayerEntryFailed, $"{options.Description}, entry '{entry.Name}': could not be unpacked into {root}: {ex.GetType().Name}: {ex.Message}", ex);
                }
            }
        }
        catch (Exception ex) when (LayerReader.IsCorruption(ex))
        {
            // Corrupt data met while an entry's content was copied.
            throw reader.Corrupt(ex);
        }

        // A layer's diff_id covers the whole tar, end blocks and padding too; an ADD archive has none to check, and
        // its decompressor (bzip2, xz) may already have let go of the file at the end of the archive.
        if (options.ExpectedDiffId is not null)
        {
            await reader.FinishAsync(cancellationToken).ConfigureAwait(false);
        }

        // Opaque directories hide everything the lower layers had in them, but not what this layer put there.
        foreach (var directory in opaque)
        {
            var (host, image) = directory;
            foreach (var child in Directory.EnumerateFileSystemEntries(host))
            {
                var childImage = $"{image}/{Path.GetFileName(child)}".TrimStart('/');
                if (!written.Contains(childImage))
                {
                    Remove(child);
                }
            }
        }

        for (var i = directoryTimes.Count - 1; i >= 0; i--)
        {
            if (Posix.TryLStat(directoryTimes[i].Host, out var status) && status.IsDirectory)
            {
                Posix.SetModifiedTime(directoryTimes[i].Host, directoryTimes[i].Time);
            }
        }
    }

    private static async Task ApplyAsync(TarEntry entry, string root, UnpackOptions options, HashSet<string> written, List<(string Host, string Image)> opaque, List<(string Host, DateTimeOffset Time)> directoryTimes, CancellationToken cancellationToken)
    {
        var what = $"{options.Description}, entry '{entry.Name}'";
        if (entry.Name.StartsWith('/'))
        {
            throw new ContainerException(ErrorCodes.UnsafeLayerEntry, $"{what}: absolute paths are not allowed in an image archive; entries must be relative to its root.");
        }

        var components = RootfsPath.Components(entry.Name, what);
        if (components.Length == 0)
        {
            // The root itself ("./"): its metadata is the container's, not the archive's.
            return;
        }

        var name = components[^1];
        var (parentHost, parentImage) = RootfsPath.ResolveParent(root, components, what, (host, _) => SetOwner(host, 0, 0, options));
        var imagePath = parentImage.Length == 0 ? name : $"{parentImage}/{name}";
        if (options.ApplyWhiteouts && name.StartsWith(WhiteoutPrefix, StringComparison.Ordinal))
        {
            if (name == OpaqueMarker)
            {
                opaque.Add((parentHost, parentImage));
                return;
            }

            var hidden = name[WhiteoutPrefix.Length..];
            if (hidden is "" or "." or "..")
            {
                throw new ContainerException(ErrorCodes.UnsafeLayerEntry, $"{what}: a whiteout must name a file.");
            }

            var target = Path.Combine(parentHost, hidden);
            if (Posix.TryLStat(target, out _))
            {
                Remove(target);
            }

            return;
        }

        if (!written.Add(imagePath))
        {
            throw new ContainerException(ErrorCodes.UnsafeLayerEntry, $"{what}: '/{imagePath}' appears twice in the archive; an image archive holds each path once.");
        }

        var host = Path.Combine(parentHost, name);
        var exists = Posix.TryLStat(host, out var existing);
        if (entry.EntryType is TarEntryType.CharacterDevice or TarEntryType.BlockDevice && !(options.AllowDeviceNodes && Environment.IsPrivilegedProcess))
        {
            throw new ContainerException(ErrorCodes.UnsafeLayerEntry, $"{what}: device nodes are not allowed in an image; the container engine provides /dev.");
        }

        if (entry.EntryType == TarEntryType.Directory)
        {
            if (exists && !existing.IsDirectory)
            {
                Remove(host);
                exists = false;
            }

            if (!exists)
            {
                Directory.CreateDirectory(host);
            }
        }
        else
        {
            if (exists)
            {
                Remove(host);
            }

            switch (entry.EntryType)
            {
                case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                    await using (var file = new FileStream(host, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous))
                    {
                        if (entry.DataStream is { } data)
                        {
                            // Zero runs become holes, and the free space is watched as the data lands.
                            await SparseCopy.CopyAsync(data, file, _ => UnpackLimits.EnsureSpace(root, 0, what), cancellationToken).ConfigureAwait(false);
                        }
                    }

                    break;
                case TarEntryType.SymbolicLink:
                    File.CreateSymbolicLink(host, entry.LinkName);
                    break;
                case TarEntryType.HardLink:
                    if (entry.LinkName.StartsWith('/'))
                    {
                        throw new ContainerException(ErrorCodes.UnsafeLayerEntry, $"{what}: the hard link target '{entry.LinkName}' is absolute; it must name a path in the archive's root.");
                    }

                    var linkComponents = RootfsPath.Components(entry.LinkName, what);
                    var (linkParent, _) = RootfsPath.ResolveParent(root, linkComponents, what);
                    var linkTarget = Path.Combine(linkParent, linkComponents[^1]);
                    if (!Posix.TryLStat(linkTarget, out var targetStatus) || targetStatus.IsDirectory)
                    {
                        throw new ContainerException(ErrorCodes.UnsafeLayerEntry, $"{what}: the hard link target '{entry.LinkName}' is not a file in the image.");
                    }

                    Posix.Link(linkTarget, host);
                    return;
                case TarEntryType.Fifo:
                    Posix.MakeFifo(host, entry.Mode);
                    break;
                case TarEntryType.CharacterDevice or TarEntryType.BlockDevice:
                    Posix.MakeDevice(host, entry.EntryType == TarEntryType.BlockDevice ? UnixFileType.BlockDevice : UnixFileType.CharacterDevice, entry.Mode, (entry as PosixTarEntry)?.DeviceMajor ?? 0, (entry as PosixTarEntry)?.DeviceMinor ?? 0);
                    break;
                default:
                    throw new ContainerException(ErrorCodes.UnsafeLayerEntry, $"{what}: entries of type {entry.EntryType} are not supported in an image.");
            }
        }

        var (uid, gid) = options.Owner ?? (entry.Uid, entry.Gid);
        SetOwner(host, uid, gid, options);
        if (entry.EntryType != TarEntryType.SymbolicLink && !OperatingSystem.IsWindows())
        {
            // After chown, which clears set-id bits.
            File.SetUnixFileMode(host, entry.Mode);
        }

        // The entry's time, as containerd applies it; a directory's once its content is in.
        if (entry.EntryType == TarEntryType.Directory)
        {
            directoryTimes.Add((host, entry.ModificationTime));
        }
        else
        {
            Posix.SetModifiedTime(host, entry.ModificationTime);
        }
    }

    private static void SetOwner(string host, int uid, int gid, UnpackOptions options)
    {
        if (options.SetOwners)
        {
            Posix.LChown(host, uid, gid);
        }
    }

    /// <summary>Removes a path without following links (a link to a directory is removed, not its target).</summary>
    internal static void Remove(string host)
    {
        var status = Posix.LStat(host);
        if (status.IsDirectory)
        {
            Directory.Delete(host, recursive: true);
        }
        else
        {
            File.Delete(host);
        }
    }
}
