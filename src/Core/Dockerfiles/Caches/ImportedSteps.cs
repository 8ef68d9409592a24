using Sdk.Containers.Digests;
using Sdk.Containers.Images;
using Sdk.Containers.Layers;
using Sdk.Containers.Registry;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Dockerfiles.Caches;

/// <summary>
/// The steps of the --cache-from caches, read once before the build: a step the local cache misses is looked up here,
/// and its layer's blob is fetched into the blob store (checked against its digest) only when the build takes it.
/// A cache that is not there yet is no error (the first build makes it); one that cannot be read is a warning.
/// The layers are trusted as BuildKit trusts its caches: a step's key says what made it, and whoever can write the
/// cache can say what it made.
/// </summary>
internal sealed class ImportedSteps
{
    // A step cache config is small (a key per step); this bounds what a hostile cache can make us read into memory.
    private const long MaxConfigSize = 16 * 1024 * 1024;

    private readonly Dictionary<string, Entry> _steps;
    private readonly BlobStore _store;

    private ImportedSteps(Dictionary<string, Entry> steps, BlobStore store)
    {
        _steps = steps;
        _store = store;
    }

    private sealed record Entry(CachedStep Step, Descriptor? Blob, CacheSpec From, Func<Descriptor, CancellationToken, Task<Stream>> Open);

    public int Count => _steps.Count;

    public static async Task<ImportedSteps> ReadAsync(IReadOnlyList<CacheSpec> sources, BlobStore store, RegistrySession registries, IBuildLog log, CancellationToken cancellationToken)
    {
        var steps = new Dictionary<string, Entry>(StringComparer.Ordinal);
        foreach (var source in sources)
        {
            try
            {
                var read = source.Reference is not null
                    ? await ReadRegistryAsync(source, registries, cancellationToken).ConfigureAwait(false)
                    : await ReadLocalAsync(source, cancellationToken).ConfigureAwait(false);
                if (read is null)
                {
                    log.Info($"Cache {source}: nothing there yet");
                    continue;
                }

                var (config, manifest, open) = read.Value;
                var blobs = manifest.Layers.ToDictionary(l => l.Digest);
                var taken = 0;
                foreach (var step in config.Steps)
                {
                    Descriptor? blob = null;
                    if (step.Blob is { } digest && (step.DiffId is null || !blobs.TryGetValue(digest, out blob)))
                    {
                        continue;
                    }

                    if (steps.TryAdd(step.Key, new Entry(step, blob, source, open)))
                    {
                        taken++;
                    }
                }

                log.Info($"Cache {source}: {taken} steps");
            }
            catch (Exception ex) when (ex is ContainerException or IOException or UnauthorizedAccessException or HttpRequestException)
            {
                log.Warning(ErrorCodes.CacheUnreadable, $"Cache {source} cannot be read, and the build goes on without it: {ex.Message}");
            }
        }

        return new ImportedSteps(steps, store);
    }

    /// <summary>The step's record, its blob now in the store; null when no cache has the step or its blob cannot be had.</summary>
    public async Task<StepRecord?> TryGetAsync(string key, IBuildLog log, CancellationToken cancellationToken)
    {
        if (!_steps.TryGetValue(key, out var entry))
        {
            return null;
        }

        if (entry.Blob is not { } blob)
        {
            return StepRecord.NoLayer;
        }

        if (!_store.TryGet(blob.Digest, out _))
        {
            try
            {
                await using var stream = await entry.Open(blob, cancellationToken).ConfigureAwait(false);
                await _store.ImportAsync(stream, blob.Digest, $"the layer {blob.Digest} of the cache {entry.From}", cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is ContainerException or IOException or UnauthorizedAccessException or HttpRequestException)
            {
                log.Warning(ErrorCodes.CacheUnreadable, $"Cache {entry.From}: the layer {blob.Digest} cannot be fetched, so its step runs: {ex.Message}");
                return null;
            }
        }

        return new StepRecord(blob.Digest, entry.Step.DiffId, MediaTypes.CompressionOf(blob.MediaType));
    }

    private static async Task<(StepCacheConfig, ImageManifest, Func<Descriptor, CancellationToken, Task<Stream>>)?> ReadRegistryAsync(CacheSpec source, RegistrySession registries, CancellationToken cancellationToken)
    {
        var reference = source.Reference!;
        var client = registries.For(reference.Registry).ForPull(reference.Repository);
        var fetched = await client.Manifests.GetAsync(reference.Digest?.ToString() ?? reference.Tag ?? "latest", cancellationToken).ConfigureAwait(false);
        if (fetched is null)
        {
            return null;
        }

        var manifest = ImageJson.ParseManifest(fetched.Bytes, reference.ToString());
        Task<Stream> Open(Descriptor blob, CancellationToken token) => client.Blobs.GetAsync(blob.Digest, $"the blob {blob.Digest} of the cache {reference}", token);
        var config = await ReadConfigAsync(manifest, source, Open, cancellationToken).ConfigureAwait(false);
        return (config, manifest, Open);
    }

    private static async Task<(StepCacheConfig, ImageManifest, Func<Descriptor, CancellationToken, Task<Stream>>)?> ReadLocalAsync(CacheSpec source, CancellationToken cancellationToken)
    {
        var directory = source.Directory!;
        var indexPath = Path.Combine(directory, "index.json");
        if (!File.Exists(indexPath))
        {
            return null;
        }

        Task<Stream> Open(Descriptor blob, CancellationToken token) => Task.FromResult<Stream>(File.OpenRead(Path.Combine(directory, "blobs", blob.Digest.Algorithm, blob.Digest.Hex)));
        var index = ImageJson.ParseIndex(await File.ReadAllBytesAsync(indexPath, cancellationToken).ConfigureAwait(false), indexPath);
        var entry = index.Manifests.FirstOrDefault(m => m.MediaType == MediaTypes.OciManifest)
            ?? throw new ContainerException(ErrorCodes.CacheUnreadable, $"{indexPath} lists no manifest.");
        var manifestBytes = await ReadVerifiedAsync(Open, entry, source, cancellationToken).ConfigureAwait(false);
        var manifest = ImageJson.ParseManifest(manifestBytes, indexPath);
        var config = await ReadConfigAsync(manifest, source, Open, cancellationToken).ConfigureAwait(false);
        return (config, manifest, Open);
    }

    private static async Task<StepCacheConfig> ReadConfigAsync(ImageManifest manifest, CacheSpec source, Func<Descriptor, CancellationToken, Task<Stream>> open, CancellationToken cancellationToken)
    {
        if (manifest.Config.MediaType != StepCacheConfig.MediaType)
        {
            throw new ContainerException(ErrorCodes.CacheUnreadable, $"it is not a build cache of ours (its config is a '{manifest.Config.MediaType}', not a '{StepCacheConfig.MediaType}').");
        }

        var bytes = await ReadVerifiedAsync(open, manifest.Config, source, cancellationToken).ConfigureAwait(false);
        return StepCacheConfig.TryParse(bytes) ?? throw new ContainerException(ErrorCodes.CacheUnreadable, "its config does not parse.");
    }

    private static async Task<byte[]> ReadVerifiedAsync(Func<Descriptor, CancellationToken, Task<Stream>> open, Descriptor descriptor, CacheSpec source, CancellationToken cancellationToken)
    {
        if (descriptor.Size > MaxConfigSize)
        {
            throw new ContainerException(ErrorCodes.CacheUnreadable, $"{descriptor.Digest} is {descriptor.Size:N0} bytes, more than a cache's manifest or config may be.");
        }

        await using var stream = await open(descriptor, cancellationToken).ConfigureAwait(false);

        // One byte more than announced is enough to know it is not the blob.
        var bytes = new byte[descriptor.Size + 1];
        var read = await stream.ReadAtLeastAsync(bytes, bytes.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        return read == descriptor.Size && Digest.Compute(bytes.AsSpan(0, read)) == descriptor.Digest
            ? bytes[..read]
            : throw new ContainerException(ErrorCodes.DigestMismatch, $"The cache {source} has {descriptor.Digest} with other content.");
    }
}
