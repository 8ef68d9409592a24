using Sdk.Containers.Registry;
using Sdk.Containers.Storage;

namespace Sdk.Containers;

/// <summary>
/// What one MSBuild task or CLI command builds with, made once by the host and passed to every publisher and builder
/// it calls: the blob store and its build cache, the registry session (one client, and so one challenge and token
/// cache, per registry for the whole command), and the log.
/// </summary>
public sealed class ImageServices : IDisposable
{
    public ImageServices(BlobStore store, RegistrySession registries, IBuildLog log)
    {
        Store = store;
        Cache = new BuildCache(store);
        Registries = registries;
        Log = log;
    }

    public BlobStore Store { get; }

    public BuildCache Cache { get; }

    public RegistrySession Registries { get; }

    public IBuildLog Log { get; }

    /// <param name="cacheDirectory">The blob store; the shared user cache when null.</param>
    public static ImageServices Create(string? cacheDirectory, RegistryOptions registryOptions, IBuildLog log)
        => new(BlobStore.CreateDefault(cacheDirectory), new RegistrySession(registryOptions, log), log);

    public void Dispose() => Registries.Dispose();
}
