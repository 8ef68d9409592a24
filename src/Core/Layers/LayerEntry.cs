namespace Sdk.Containers.Layers;

public enum LayerEntryKind
{
    Directory,
    File,
    Symlink,

    /// <summary>A second name for a file earlier in the same layer (<see cref="LayerEntry.LinkTarget"/>).</summary>
    HardLink,
    Fifo,

    /// <summary>A device node (<see cref="LayerEntry.DeviceMajor"/>, <see cref="LayerEntry.DeviceMinor"/>): a RUN may
    /// leave one behind, and BuildKit keeps it in the layer.</summary>
    CharacterDevice,
    BlockDevice,
}

/// <summary>
/// One path of a layer, described before any tar is written (as Jib does), so that a plan can be compared, cached or
/// split without touching file contents.
/// </summary>
/// <param name="Path">Path inside the image, relative to / with '/' separators and no trailing slash.</param>
/// <param name="SourcePath">For files: where the bytes come from on disk; none for an empty file (a whiteout).</param>
/// <param name="LinkTarget">For symlinks: the target, exactly as it should appear in the image; for hard links, the
/// path of the file (in the same layer) they name.</param>
public sealed record LayerEntry(
    string Path,
    LayerEntryKind Kind,
    UnixFileMode Mode,
    string? SourcePath = null,
    string? LinkTarget = null,
    int Uid = 0,
    int Gid = 0,
    int DeviceMajor = 0,
    int DeviceMinor = 0)
{
    public const UnixFileMode DirectoryMode = (UnixFileMode)0b111_101_101; // 0755
    public const UnixFileMode ExecutableMode = (UnixFileMode)0b111_101_101; // 0755
    public const UnixFileMode RegularMode = (UnixFileMode)0b110_100_100; // 0644
}
