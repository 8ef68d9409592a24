namespace Sdk.Containers.Storage;

/// <summary>
/// The hold a store's users share and its eviction takes alone: a flock on one file, which the kernel drops when a
/// process dies, so a killed build never leaves the store locked.
/// </summary>
internal static class StoreLock
{
    // .NET takes flock(LOCK_SH) for a shared open and flock(LOCK_EX) for FileShare.None, without waiting.
    public static FileStream? TryOpen(string lockFile, bool exclusive)
    {
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(lockFile)!);
            return exclusive
                ? new FileStream(lockFile, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None)
                : new FileStream(lockFile, FileMode.OpenOrCreate, FileAccess.Read, FileShare.ReadWrite);
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>A shared hold, waiting up to a minute for an eviction or prune to finish.</summary>
    public static FileStream Share(string lockFile, string what)
    {
        for (var attempt = 0; ; attempt++)
        {
            if (TryOpen(lockFile, exclusive: false) is { } hold)
            {
                return hold;
            }

            if (attempt == 600)
            {
                throw new ContainerException(ErrorCodes.SnapshotStoreBusy, $"{what} has been held by a prune or eviction for a minute; try again when it has finished.");
            }

            Thread.Sleep(100);
        }
    }
}
