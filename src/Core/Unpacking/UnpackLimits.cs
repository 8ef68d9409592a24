using System.Globalization;

namespace Sdk.Containers.Unpacking;

/// <summary>
/// What an unpack may cost: at most <see cref="MaxBytes"/> of tar per archive (SDK_CONTAINERS_UNPACK_LIMIT, bytes;
/// 64 GiB by default), and never the last free space of the target's file system (checked before each file and as
/// it is written). Verification writes nothing and has no such bound (SDK_CONTAINERS_VERIFY_LIMIT sets one).
/// </summary>
public static class UnpackLimits
{
    public const string UnpackSetting = "SDK_CONTAINERS_UNPACK_LIMIT";
    public const string VerifySetting = "SDK_CONTAINERS_VERIFY_LIMIT";

    public static long MaxBytes => Read(UnpackSetting) ?? 64L << 30;

    /// <summary>The most a layer may inflate to while it is verified; none unless set.</summary>
    public static long? VerifyMaxBytes => Read(VerifySetting);

    /// <summary>Free space kept on the target: 64 MiB, or 2% of a smaller file system (so the machine stays usable).</summary>
    public static long Reserve(DriveInfo drive) => Math.Min(64L << 20, drive.TotalSize / 50);

    /// <summary>Fails when writing <paramref name="bytes"/> more under <paramref name="root"/> would eat into the reserve.</summary>
    public static void EnsureSpace(string root, long bytes, string what)
    {
        DriveInfo drive;
        try
        {
            drive = new DriveInfo(root);
            _ = drive.TotalSize;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return; // A file system that does not say how full it is gets written until it says so itself.
        }

        var free = drive.AvailableFreeSpace;
        if (free - bytes < Reserve(drive))
        {
            throw new ContainerException(ErrorCodes.DiskFull, $"{what}: {bytes:N0} bytes more would leave less than {Reserve(drive) / 1048576.0:N0} MB free on the file system of {root} ({free / 1048576.0:N0} MB free now); free space there, or set SDK_CONTAINERS_CACHE to a directory on a larger disk.");
        }
    }

    private static long? Read(string name)
        => Environment.GetEnvironmentVariable(name) is { Length: > 0 } text
            ? long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0
                ? value
                : throw new ContainerException(ErrorCodes.LayerTooLarge, $"{name}={text} is not a size; give a whole number of bytes (such as 68719476736 for 64 GiB).")
            : null;
}
