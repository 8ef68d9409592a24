namespace Sdk.Containers.Storage;

/// <summary>
/// The hold a store's users share and its eviction takes alone: a flock on one file, which the kernel drops when a
/// process dies, so a killed build never leaves the store locked.
/// </summary>
internal static class StoreLock
{
    /// <summary>
    /// .NET takes no flock at all under this switch (or its environment variable): then no hold protects anything,
    /// and nothing may be evicted.
    /// </summary>
    public static bool LockingDisabled { get; } =
        (AppContext.TryGetSwitch("System.IO.DisableFileLocking", out var disabled) && disabled)
        || Environment.GetEnvironmentVariable("DOTNET_SYSTEM_IO_DISABLEFILELOCKING") is "1" or "true";

    /// <summary>
    /// The lock, or null while another open of it conflicts (a shared hold against an eviction, or the reverse).
    /// .NET takes flock(LOCK_EX|LOCK_NB) for FileShare.None whatever the access, and LOCK_SH for a shared read-only
    /// open; both are opened read-only, so a lock file another user made (0644) locks as well.
    /// </summary>
    /// <exception cref="ContainerException">The lock file cannot be made or read: the cache is not writable.</exception>
    public static FileStream? TryOpen(string lockFile, bool exclusive)
    {
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(lockFile)!);
            return new FileStream(lockFile, FileMode.OpenOrCreate, FileAccess.Read, exclusive ? FileShare.None : FileShare.ReadWrite);
        }
        catch (IOException) when (File.Exists(lockFile))
        {
            return null; // it exists and is locked the other way
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ContainerException(ErrorCodes.CacheNotWritable, $"The cache {Path.GetDirectoryName(lockFile)} cannot be used: {ex.Message} Set ContainerCacheDirectory (CLI --cache, or SDK_CONTAINERS_CACHE) to a directory this user can write.");
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
