using System.Globalization;

namespace Sdk.Containers.Storage;

/// <summary>A file of the cache that can go: a blob, a build-cache record, a cached scan of a layer chain.</summary>
public sealed record CachedFile(string Path, long Size, DateTime LastUsed);

/// <summary>
/// Keeps the blob store and its records within a size, least recently used out first. Removing anything here is
/// safe for later builds: a record whose blob is gone is a miss, and a missing blob is pulled or built again. Only
/// with <see cref="BlobStore.TryExclusive"/> held, so no running build loses a blob it is reading.
/// </summary>
public static class StoreEviction
{
    /// <summary>SDK_CONTAINERS_CACHE_LIMIT (bytes, or with KB, MB, GB), else 20 GB.</summary>
    public static long LimitFromEnvironment()
        => Environment.GetEnvironmentVariable("SDK_CONTAINERS_CACHE_LIMIT") is { Length: > 0 } limit ? ParseSize(limit, "SDK_CONTAINERS_CACHE_LIMIT=") : 20L << 30;

    /// <summary>A size as --keep-storage and SDK_CONTAINERS_CACHE_LIMIT take it: bytes, or a number with KB, MB or GB.</summary>
    public static long ParseSize(string text, string what)
    {
        var trimmed = text.Trim().ToUpperInvariant();
        var (number, factor) = trimmed switch
        {
            _ when trimmed.EndsWith("GB", StringComparison.Ordinal) => (trimmed[..^2], 1L << 30),
            _ when trimmed.EndsWith("MB", StringComparison.Ordinal) => (trimmed[..^2], 1L << 20),
            _ when trimmed.EndsWith("KB", StringComparison.Ordinal) => (trimmed[..^2], 1L << 10),
            _ when trimmed.EndsWith('B') => (trimmed[..^1], 1L),
            _ => (trimmed, 1L),
        };
        return double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value >= 0
            ? (long)(value * factor)
            : throw new ContainerException(ErrorCodes.InvalidKeepStorage, $"{what}{(what.EndsWith('=') ? string.Empty : " ")}{text}: write a size such as 10GB, 512MB or 1000000.");
    }

    /// <summary>Every blob and record, least recently used first (ties by path, so the order is the same each time).</summary>
    public static IReadOnlyList<CachedFile> List(BlobStore store)
    {
        var found = new List<CachedFile>();
        foreach (var folder in new[] { "blobs", "index" })
        {
            var root = new DirectoryInfo(Path.Combine(store.Root, folder));
            if (!root.Exists)
            {
                continue;
            }

            foreach (var file in root.EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = true }))
            {
                // An atomic write's temporary file belongs to a writer, not to the cache (see CleanPartials).
                if (!file.Name.EndsWith(".tmp", StringComparison.Ordinal))
                {
                    found.Add(new CachedFile(file.FullName, file.Length, file.LastAccessTimeUtc));
                }
            }
        }

        return [.. found.OrderBy(f => f.LastUsed).ThenBy(f => f.Path, StringComparer.Ordinal)];
    }

    /// <summary>Removes least recently used files until the cache holds at most <paramref name="keepBytes"/>.</summary>
    /// <returns>How many files and bytes were removed.</returns>
    public static (int Count, long Bytes) Evict(BlobStore store, long keepBytes)
    {
        var removed = LeastRecentlyUsed.Remove(List(store), keepBytes, f => f.Size, f => File.Delete(f.Path));
        return (removed.Count, removed.Sum(f => f.Size));
    }

    /// <summary>What killed writers left: partial blobs and half-written records. Only with the store held alone.</summary>
    public static int CleanPartials(BlobStore store)
    {
        var removed = 0;
        var temp = Path.Combine(store.Root, "tmp");
        var partials = Directory.Exists(temp) ? Directory.EnumerateFiles(temp, "*.partial") : [];
        var index = Path.Combine(store.Root, "index");
        var records = Directory.Exists(index) ? Directory.EnumerateFiles(index, "*.tmp", SearchOption.AllDirectories) : [];
        foreach (var file in partials.Concat(records).ToList())
        {
            File.Delete(file);
            removed++;
        }

        return removed;
    }
}
