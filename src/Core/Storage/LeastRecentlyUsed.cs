namespace Sdk.Containers.Storage;

/// <summary>The one eviction rule of the caches: remove the oldest-used entries until the rest fit.</summary>
public static class LeastRecentlyUsed
{
    /// <param name="oldestFirst">Entries in the order they may go.</param>
    /// <returns>The entries removed, in that order.</returns>
    public static IReadOnlyList<T> Remove<T>(IReadOnlyList<T> oldestFirst, long keepBytes, Func<T, long> size, Action<T> remove)
    {
        var total = oldestFirst.Sum(size);
        var removed = new List<T>();
        foreach (var entry in oldestFirst)
        {
            if (total <= keepBytes)
            {
                break;
            }

            remove(entry);
            total -= size(entry);
            removed.Add(entry);
        }

        return removed;
    }
}
