using Sdk.Containers.Registry;
using Sdk.Containers.Storage;

namespace Sdk.Containers;

/// <summary>
/// What one MSBuild task or CLI command builds with, made once by the host and passed to every publisher and builder
/// it calls: the blob store and its build cache, the registry session (one client, and so one challenge and token
/// cache, per registry for the whole command), and the log.
/// </summary>
/// <remarks>
/// While it lives it holds the store shared, so that no eviction removes a blob it reads; when it is done and has
/// added blobs, it trims the store to <see cref="CacheLimit"/> if no other build holds it.
/// </remarks>
public sealed class ImageServices : IDisposable
{
    private readonly FileStream _hold;

    public ImageServices(BlobStore store, RegistrySession registries, IBuildLog log)
    {
        Store = store;
        Cache = new BuildCache(store);
        Registries = registries;
        Log = log;
        _hold = store.Share();
    }

    /// <summary>The most the blob store and its records may hold after a build (SDK_CONTAINERS_CACHE_LIMIT).</summary>
    public long CacheLimit { get; init; } = StoreEviction.LimitFromEnvironment();

    public BlobStore Store { get; }

    public BuildCache Cache { get; }

    public RegistrySession Registries { get; }

    public IBuildLog Log { get; }

    /// <param name="cacheDirectory">The blob store; the shared user cache when null.</param>
    public static ImageServices Create(string? cacheDirectory, RegistryOptions registryOptions, IBuildLog log)
        => new(BlobStore.CreateDefault(cacheDirectory), new RegistrySession(registryOptions, log), log);

    public void Dispose()
    {
        Registries.Dispose();
        _hold.Dispose();
        // A trim another build skipped is left to the next one out (the marker); without file locks (.NET's
        // DisableFileLocking) no hold protects a running build, so nothing is evicted.
        var pending = Path.Combine(Store.Root, ".trim-pending");
        if (!StoreLock.LockingDisabled && (Store.BytesAdded > 0 || File.Exists(pending)))
        {
            Trim(pending);
        }
    }

    private void Trim(string pending)
    {
        try
        {
            using var alone = Store.TryExclusive();
            if (alone is null)
            {
                // Another build runs: it trims when it ends, even if it added nothing itself.
                File.WriteAllBytes(pending, []);
                return;
            }

            var (count, bytes) = StoreEviction.Evict(Store, CacheLimit);
            File.Delete(pending);
            if (count > 0)
            {
                Log.Info($"Removed {count} least recently used files ({bytes / 1048576.0:F0} MB) to keep the cache {Store.Root} within {CacheLimit / 1048576.0:F0} MB");
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ContainerException)
        {
            // The build is done; a store it could not trim is trimmed by the next one.
            Log.Detail($"The cache {Store.Root} was not trimmed: {ex.Message}");
        }
    }
}
