using System.Collections.Concurrent;
using Sdk.Containers.Archives;
using Sdk.Containers.Digests;
using Sdk.Containers.Images;
using Sdk.Containers.IO;
using Sdk.Containers.Layers;
using Sdk.Containers.References;
using Sdk.Containers.Registry;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Dockerfiles.Caches;

/// <summary>
/// The steps of this build, as --cache-to writes them: each step's key and the layer it made, as one OCI image
/// manifest (<see cref="StepCacheConfig"/>) pushed to a registry tag or written into an OCI layout directory.
/// </summary>
internal sealed class StepCacheExport
{
    private readonly ConcurrentDictionary<string, StepRecord> _steps = new(StringComparer.Ordinal);

    /// <summary>A step of this build, run or taken from a cache.</summary>
    public void Add(string key, StepRecord record) => _steps[key] = record;

    /// <param name="finals">The images built (one per platform): mode=min keeps the steps whose layers they hold.</param>
    public async Task ExportAsync(CacheSpec to, IReadOnlyList<Image> finals, BlobStore store, RegistrySession registries, IBuildLog log, CancellationToken cancellationToken)
    {
        var held = finals.SelectMany(f => f.Layers).Select(l => l.Descriptor.Digest).ToHashSet();
        var steps = _steps
            .Where(s => to.Mode == CacheMode.Max || s.Value.Blob is not { } blob || held.Contains(blob))
            .Where(s => s.Value.Blob is not { } digest || store.TryGet(digest, out _))
            .OrderBy(s => s.Key, StringComparer.Ordinal)
            .ToArray();
        var layers = new List<Layer>();
        foreach (var (_, record) in steps)
        {
            if (record.Blob is { } digest && record.DiffId is { } diffId && layers.All(l => l.Descriptor.Digest != digest) && store.TryGet(digest, out var stored))
            {
                layers.Add(Layer.Create(stored.Path, digest, stored.Size, record.Compression, diffId));
            }
        }

        var config = new StepCacheConfig(steps.Select(s => new CachedStep(s.Key, s.Value.Blob, s.Value.DiffId)).ToArray()).Serialize();
        var manifest = ImageJson.Serialize(new ImageManifest
        {
            MediaType = MediaTypes.OciManifest,
            Config = new Descriptor { MediaType = StepCacheConfig.MediaType, Digest = Digest.Compute(config), Size = config.Length },
            Layers = layers.Select(l => l.Descriptor).ToArray(),
        });

        if (to.Reference is { } reference)
        {
            var push = await new RegistryPusher(registries).PushArtifactAsync(layers, config, manifest, MediaTypes.OciManifest, new RepositoryLocation(reference.Registry, reference.Repository), reference.Tag ?? "latest", cancellationToken).ConfigureAwait(false);
            log.Info($"Exported the build cache to {reference} ({to.Mode.ToString().ToLowerInvariant()}): {steps.Length} steps, {layers.Count} layers, {push.BlobsUploaded} blobs uploaded ({push.BytesUploaded:N0} bytes)");
        }
        else
        {
            await WriteLayoutAsync(to.Directory!, layers, config, manifest, cancellationToken).ConfigureAwait(false);
            log.Info($"Exported the build cache to {to.Directory} ({to.Mode.ToString().ToLowerInvariant()}): {steps.Length} steps, {layers.Count} layers");
        }
    }

    // Blobs first, each written whole or not at all, and index.json last: a killed export leaves the cache it found.
    private static async Task WriteLayoutAsync(string directory, IReadOnlyList<Layer> layers, byte[] config, byte[] manifest, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.Combine(directory, "blobs", "sha256"));
        foreach (var layer in layers)
        {
            await OciLayoutWriter.WriteLayerBlobAsync(directory, layer, cancellationToken).ConfigureAwait(false);
        }

        var manifestDigest = Digest.Compute(manifest);
        await AtomicFile.WriteAllBytesAsync(Path.Combine(directory, OciLayoutContent.BlobPath(Digest.Compute(config))), config, cancellationToken).ConfigureAwait(false);
        await AtomicFile.WriteAllBytesAsync(Path.Combine(directory, OciLayoutContent.BlobPath(manifestDigest)), manifest, cancellationToken).ConfigureAwait(false);
        await AtomicFile.WriteAllBytesAsync(Path.Combine(directory, "oci-layout"), OciLayoutContent.LayoutFile(), cancellationToken).ConfigureAwait(false);
        var entry = new Descriptor { MediaType = MediaTypes.OciManifest, Digest = manifestDigest, Size = manifest.Length, Annotations = new Dictionary<string, string> { [OciLayoutContent.RefNameAnnotation] = "cache" } };
        await AtomicFile.WriteAllBytesAsync(Path.Combine(directory, "index.json"), OciLayoutContent.Index([entry]), cancellationToken).ConfigureAwait(false);
    }
}
