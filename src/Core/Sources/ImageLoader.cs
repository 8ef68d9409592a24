using System.Text.Json.Nodes;
using Sdk.Containers.Archives;
using Sdk.Containers.Digests;
using Sdk.Containers.Images;
using Sdk.Containers.Layers;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Sources;

/// <summary>An image read from a source, with the name it carried there (if any).</summary>
public sealed record LoadedImage(Image Image, string? Name, string Origin);

/// <summary>
/// Reads images from local sources and verifies them as `docker load` does: every blob against its digest, every
/// layer's decompressed content against its diff_id, the layer count against the config. An engine's image
/// (docker-daemon:, podman:) is read as the archive `docker save` makes of it, and verified the same way.
/// </summary>
/// <param name="log">Says whether an engine's image was exported or taken from the build cache.</param>
public sealed class ImageLoader(BlobStore store, Registry.RegistrySession? registries = null, bool reverify = false, IBuildLog? log = null)
{
    private readonly BuildCache _cache = new(store);
    private int _checksSkipped;
    private int _exports;

    /// <summary>How many images were exported from a local engine (not found in the build cache by their ID).</summary>
    public int EngineExports => _exports;

    /// <summary>Layers whose verification was skipped because the same unchanged file was verified before.</summary>
    public int ChecksSkipped => _checksSkipped;

    /// <summary>Every image the source holds (all platforms, all names); used by `verify`.</summary>
    public Task<IReadOnlyList<LoadedImage>> LoadAllAsync(ImageSource source, CancellationToken cancellationToken)
        => LoadCoreAsync(source, platform: null, cancellationToken);

    /// <summary>The one image of the source for <paramref name="platform"/>; a base image for a build.</summary>
    public async Task<LoadedImage> LoadAsync(ImageSource source, Platform platform, CancellationToken cancellationToken)
    {
        var images = await LoadCoreAsync(source, platform, cancellationToken).ConfigureAwait(false);
        var distinct = images.DistinctBy(i => i.Image.ManifestDigest).ToArray();
        return distinct.Length switch
        {
            1 => distinct[0],
            0 => throw new ContainerException(ErrorCodes.PlatformNotFound, $"{source} holds no image for {platform}."),
            _ => throw new ContainerException(ErrorCodes.InvalidImageSource, $"{source} holds {distinct.Length} images ({string.Join(", ", distinct.Select(i => i.Name ?? i.Image.ManifestDigest.ToString()))}); name the one to use, e.g. {source}:{distinct[0].Name ?? "TAG"}."),
        };
    }

    private async Task<IReadOnlyList<LoadedImage>> LoadCoreAsync(ImageSource source, Platform? platform, CancellationToken cancellationToken)
    {
        switch (source.Transport)
        {
            case ImageTransport.OciLayout:
                if (!Directory.Exists(source.Location))
                {
                    throw new ContainerException(ErrorCodes.InvalidImageSource, $"The OCI layout directory '{source.Location}' does not exist.");
                }

                var layout = new LayoutBlobs(source.Location);
                return await LoadOciAsync(layout, source, platform, cancellationToken).ConfigureAwait(false);

            case ImageTransport.DockerArchive or ImageTransport.OciArchive:
                var contents = await ArchiveContents.ReadAsync(source.Location, store, cancellationToken, reverify ? null : _cache).ConfigureAwait(false);
                return await LoadArchiveAsync(contents, source, platform, cancellationToken).ConfigureAwait(false);

            case ImageTransport.DockerDaemon or ImageTransport.Podman:
                var engines = new EngineArchives(store, _cache, reverify, log ?? NullBuildLog.Instance);
                var export = await engines.ReadAsync(source, cancellationToken).ConfigureAwait(false);

                // The export holds the one image asked for, under no name or another tag of it: nothing to choose by name.
                var exported = await LoadArchiveAsync(export.Contents, new ImageSource(ImageTransport.DockerArchive, export.Contents.ArchivePath, null), platform, cancellationToken).ConfigureAwait(false);
                await engines.RememberAsync(export, cancellationToken).ConfigureAwait(false);
                if (export.Exported)
                {
                    Interlocked.Increment(ref _exports);
                }

                return exported;

            default:
                var reference = References.ImageReference.Parse(source.Location, "base image reference");
                var session = registries ?? throw new InvalidOperationException("Registry sources need a registry session.");
                var pulled = await new Registry.RegistryPuller(session, store).PullAsync(reference, platform ?? Platform.FromRuntimeIdentifier("linux-x64"), cancellationToken).ConfigureAwait(false);
                await CheckPulledLayersAsync(pulled, cancellationToken).ConfigureAwait(false);
                return [pulled];
        }
    }

    private async Task<IReadOnlyList<LoadedImage>> LoadArchiveAsync(ArchiveContents contents, ImageSource source, Platform? platform, CancellationToken cancellationToken)
    {
        // Archives from `docker save` (25+) and from us carry an OCI layout beside manifest.json: its index points at
        // the manifests as they were, so their digests survive; manifest.json has no manifest.
        if (contents.Contains("index.json") && contents.Contains("oci-layout"))
        {
            return await LoadOciAsync(new ArchiveBlobs(contents), source, platform, cancellationToken).ConfigureAwait(false);
        }

        if (source.Transport == ImageTransport.DockerArchive && contents.Contains("manifest.json"))
        {
            return await LoadDockerArchiveAsync(contents, source, platform, cancellationToken).ConfigureAwait(false);
        }

        if (source.Transport == ImageTransport.DockerArchive && contents.Contains("repositories"))
        {
            return [await LoadLegacyDockerArchiveAsync(contents, source, cancellationToken).ConfigureAwait(false)];
        }

        throw new ContainerException(ErrorCodes.ArchiveCorrupt, $"'{source.Location}' has neither manifest.json nor index.json; it is not a docker-archive or an oci-archive.");
    }

    private async Task<IReadOnlyList<LoadedImage>> LoadDockerArchiveAsync(ArchiveContents contents, ImageSource source, Platform? platform, CancellationToken cancellationToken)
    {
        var entries = ImageJson.ParseDockerArchiveManifest(contents.ReadJson("manifest.json", "the archive"), $"'{source.Location}'");
        if (entries.Count == 0)
        {
            throw new ContainerException(ErrorCodes.ArchiveCorrupt, $"The manifest.json of '{source.Location}' lists no image.");
        }

        if (source.Reference is { } reference)
        {
            entries = entries.Where(e => e.RepoTags?.Any(t => NameMatches(t, reference)) == true).ToList();
            if (entries.Count == 0)
            {
                throw new ContainerException(ErrorCodes.InvalidImageSource, $"'{source.Location}' has no image named '{reference}'.");
            }
        }

        var images = new List<LoadedImage>();
        foreach (var entry in entries)
        {
            var origin = $"'{source.Location}'";
            var configBytes = contents.ReadJson(entry.Config, "manifest.json");
            var config = ImageJson.ParseConfig(configBytes, $"{origin} ({entry.Config})");
            if (platform is not null && !platform.Accepts(config.Platform))
            {
                continue;
            }

            var diffIds = config.RootFs.DiffIds;
            if (diffIds.Count != entry.Layers.Count)
            {
                throw new ContainerException(ErrorCodes.ArchiveCorrupt, $"The image in {origin} lists {entry.Layers.Count} layers in manifest.json but its config has {diffIds.Count} diff_ids; the archive is inconsistent.");
            }

            var layers = new List<Layer>();
            for (var i = 0; i < entry.Layers.Count; i++)
            {
                var blob = contents.Get(entry.Layers[i], "manifest.json");
                var name = $"Layer {i + 1} of {entry.Layers.Count} ({entry.Layers[i]}) in {origin}";
                var check = await CheckLayerAsync(blob.Path, name, diffIds[i], cancellationToken, blob.Digest).ConfigureAwait(false);
                layers.Add(Layer.Create(blob.Path, check.BlobDigest, check.BlobSize, check.Compression, check.DiffId));
            }

            var image = Image.Create(ImageFormat.Docker, config, configBytes, layers);
            images.Add(new LoadedImage(image, entry.RepoTags?.FirstOrDefault(), origin));
        }

        return images;
    }

    private async Task<IReadOnlyList<LoadedImage>> LoadOciAsync(IBlobLookup blobs, ImageSource source, Platform? platform, CancellationToken cancellationToken)
    {
        var indexBytes = blobs.ReadIndexJson();
        var index = ImageJson.ParseIndex(indexBytes, $"'{source.Location}' (index.json)");
        // Documents attached to an image (SBOMs, provenance) are listed beside it with their artifactType: not images.
        var candidates = index.Manifests.Where(d => d.ArtifactType is null);
        if (source.Reference is { } reference)
        {
            candidates = candidates.Where(d => d.Annotations is { } a
                && ((a.TryGetValue(OciLayoutContent.RefNameAnnotation, out var refName) && (refName == reference || NameMatches(refName, reference)))
                    || (a.TryGetValue(OciLayoutContent.ContainerdNameAnnotation, out var fullName) && NameMatches(fullName, reference))));
        }

        var images = new List<LoadedImage>();
        foreach (var descriptor in candidates)
        {
            var name = descriptor.Annotations?.GetValueOrDefault(OciLayoutContent.ContainerdNameAnnotation)
                ?? descriptor.Annotations?.GetValueOrDefault(OciLayoutContent.RefNameAnnotation);
            await CollectAsync(blobs, descriptor, name, source, platform, images, depth: 0, cancellationToken).ConfigureAwait(false);
        }

        if (source.Reference is not null && images.Count == 0 && !index.Manifests.Any(d => d.Annotations?.Values.Any(v => NameMatches(v, source.Reference)) == true))
        {
            var known = index.Manifests.Select(d => d.Annotations?.GetValueOrDefault(OciLayoutContent.RefNameAnnotation)).OfType<string>().ToArray();
            throw new ContainerException(ErrorCodes.InvalidImageSource, $"'{source.Location}' has no image named '{source.Reference}'{(known.Length > 0 ? $"; it has {string.Join(", ", known)}" : string.Empty)}.");
        }

        return images;
    }

    private async Task CollectAsync(IBlobLookup blobs, Descriptor descriptor, string? name, ImageSource source, Platform? platform, List<LoadedImage> images, int depth, CancellationToken cancellationToken)
    {
        var origin = $"'{source.Location}'";
        if (MediaTypes.IsIndex(descriptor.MediaType))
        {
            if (depth > 4)
            {
                throw new ContainerException(ErrorCodes.ArchiveCorrupt, $"The indexes in {origin} nest too deeply.");
            }

            var nestedBytes = await ReadVerifiedAsync(blobs, descriptor, origin, cancellationToken).ConfigureAwait(false);
            var nested = ImageJson.ParseIndex(nestedBytes, $"{origin} ({descriptor.Digest})");
            var matching = nested.Manifests.Where(m => platform is null || m.Platform is not { IsComplete: true } || platform.Accepts(m.Platform)).ToArray();
            if (platform is not null && matching.Length == 0)
            {
                var available = string.Join(", ", nested.Manifests.Select(m => m.Platform?.ToString() ?? "unknown"));
                throw new ContainerException(ErrorCodes.PlatformNotFound, $"{origin} has no image for {platform}; its index has {available}.");
            }

            foreach (var child in matching)
            {
                await CollectAsync(blobs, child, name, source, platform, images, depth + 1, cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        if (!MediaTypes.IsManifest(descriptor.MediaType))
        {
            throw new ContainerException(ErrorCodes.UnsupportedMediaType, $"{origin} lists {descriptor.Digest} with media type '{descriptor.MediaType}', which is neither an image manifest nor an index.");
        }

        var manifestBytes = await ReadVerifiedAsync(blobs, descriptor, origin, cancellationToken).ConfigureAwait(false);
        var manifest = ImageJson.ParseManifest(manifestBytes, $"{origin} (manifest {descriptor.Digest})");
        var configBytes = await ReadVerifiedAsync(blobs, manifest.Config, origin, cancellationToken).ConfigureAwait(false);
        var config = ImageJson.ParseConfig(configBytes, $"{origin} (config {manifest.Config.Digest})");
        if (platform is not null && !platform.Accepts(config.Platform))
        {
            return;
        }

        if (config.RootFs.DiffIds.Count != manifest.Layers.Count)
        {
            throw new ContainerException(ErrorCodes.ArchiveCorrupt, $"The manifest {descriptor.Digest} in {origin} lists {manifest.Layers.Count} layers but its config has {config.RootFs.DiffIds.Count} diff_ids; the image is inconsistent.");
        }

        var layers = new List<Layer>();
        for (var i = 0; i < manifest.Layers.Count; i++)
        {
            var layerDescriptor = manifest.Layers[i];
            var layerName = $"Layer {i + 1} of {manifest.Layers.Count} ({layerDescriptor.Digest}) in {origin}";
            var path = blobs.PathOf(layerDescriptor.Digest, layerName);
            var check = await CheckLayerAsync(path, layerName, config.RootFs.DiffIds[i], cancellationToken, blobs.KnownDigest(layerDescriptor.Digest)).ConfigureAwait(false);
            if (check.BlobDigest != layerDescriptor.Digest || check.BlobSize != layerDescriptor.Size)
            {
                throw new ContainerException(ErrorCodes.DigestMismatch, $"{layerName} has digest {check.BlobDigest} and size {check.BlobSize}, but the manifest says {layerDescriptor.Digest} and {layerDescriptor.Size}; the blob was altered.");
            }

            layers.Add(new Layer(path, layerDescriptor, check.DiffId));
        }

        images.Add(new LoadedImage(Image.FromExisting(config, configBytes, manifest, manifestBytes, layers), name, origin));
    }

    /// <summary>
    /// A pulled image's layers against its config's diff_ids, as `docker pull` checks them: the blob digests were
    /// checked as they arrived, but only this says the config describes them (a RUN unpacks them, and a publish passes
    /// the diff_ids on). Once per blob file on this machine, in parallel.
    /// </summary>
    private async Task CheckPulledLayersAsync(LoadedImage pulled, CancellationToken cancellationToken)
    {
        var layers = pulled.Image.Layers;
        var distinct = layers.Select((layer, i) => (Layer: layer, Index: i)).DistinctBy(l => (l.Layer.Descriptor.Digest, l.Layer.DiffId)).ToList();
        await Parallel.ForEachAsync(distinct, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = cancellationToken }, async (l, token) =>
            await CheckLayerAsync(l.Layer.BlobPath, $"Layer {l.Index + 1} of {layers.Count} ({l.Layer.Descriptor.Digest}) of {pulled.Name ?? pulled.Origin}", l.Layer.DiffId, token, l.Layer.Descriptor.Digest).ConfigureAwait(false)).ConfigureAwait(false);
    }

    /// <summary>
    /// Verifies a layer like `docker load`, or takes the result of an earlier verification of the same unchanged file
    /// (path, size and time), so a rebuild does not decompress and hash the base again.
    /// </summary>
    private async Task<LayerCheck> CheckLayerAsync(string path, string name, Digest? expectedDiffId, CancellationToken cancellationToken, Digest? knownBlobDigest = null)
    {
        var key = BuildCache.Key(CacheKinds.VerifiedBlobs, [BuildCache.FileStamp(path), expectedDiffId?.ToString() ?? string.Empty]);
        if (!reverify && _cache.TryGet(CacheKinds.VerifiedBlobs, key, out var record))
        {
            Interlocked.Increment(ref _checksSkipped);
            return new LayerCheck(record.Blob, record.Size, record.DiffId, record.UncompressedSize, record.Compression, Entries: -1);
        }

        var check = await LayerVerifier.CheckAsync(path, name, expectedDiffId, cancellationToken, knownBlobDigest: knownBlobDigest).ConfigureAwait(false);
        await _cache.SetAsync(CacheKinds.VerifiedBlobs, key, new VerifiedBlobRecord(check.BlobDigest, check.BlobSize, check.DiffId, check.UncompressedSize, check.Compression), cancellationToken).ConfigureAwait(false);
        return check;
    }

    private static async Task<byte[]> ReadVerifiedAsync(IBlobLookup blobs, Descriptor descriptor, string origin, CancellationToken cancellationToken)
    {
        var what = $"The blob {descriptor.Digest} in {origin}";
        if (descriptor.Size > ArchiveContents.MaxJsonSize)
        {
            throw new ContainerException(ErrorCodes.ArchiveCorrupt, $"{what} claims {descriptor.Size} bytes, too large for a manifest or config.");
        }

        var bytes = await File.ReadAllBytesAsync(blobs.PathOf(descriptor.Digest, what), cancellationToken).ConfigureAwait(false);
        var actual = Digest.Compute(bytes);
        if (actual != descriptor.Digest || bytes.Length != descriptor.Size)
        {
            throw new ContainerException(ErrorCodes.DigestMismatch, $"{what} has digest {actual} and size {bytes.Length}, but {descriptor.Digest} and {descriptor.Size} were expected; it was altered.");
        }

        return bytes;
    }

    /// <summary>
    /// The format `docker save` wrote before manifest.json: a folder per layer with its v1 json and layer.tar, and a
    /// repositories file naming the top layer. The config is rebuilt from the top layer's json.
    /// </summary>
    private async Task<LoadedImage> LoadLegacyDockerArchiveAsync(ArchiveContents contents, ImageSource source, CancellationToken cancellationToken)
    {
        var origin = $"'{source.Location}'";
        var repositories = ImageJson.ParseRepositories(contents.ReadJson("repositories", "the archive"), origin);
        var tops = repositories.SelectMany(r => r.Value.Select(t => (Name: $"{r.Key}:{t.Key}", Id: t.Value))).ToArray();
        if (source.Reference is { } reference)
        {
            tops = tops.Where(t => NameMatches(t.Name, reference)).ToArray();
        }

        if (tops.Select(t => t.Id).Distinct().Count() != 1)
        {
            throw new ContainerException(ErrorCodes.InvalidImageSource, tops.Length == 0
                ? $"The repositories file of {origin} names no image{(source.Reference is null ? string.Empty : $" called '{source.Reference}'")}."
                : $"{origin} holds several images ({string.Join(", ", tops.Select(t => t.Name))}); name one, e.g. docker-archive:{source.Location}:{tops[0].Name}.");
        }

        var chain = new List<(string Id, JsonObject Json)>();
        for (var id = tops[0].Id; !string.IsNullOrEmpty(id);)
        {
            if (chain.Count > 512 || chain.Any(c => c.Id == id))
            {
                throw new ContainerException(ErrorCodes.ArchiveCorrupt, $"The layer chain in {origin} loops at {id}.");
            }

            var node = JsonNode.Parse(contents.ReadJson($"{id}/json", "the repositories file")) as JsonObject
                ?? throw new ContainerException(ErrorCodes.ArchiveCorrupt, $"{id}/json in {origin} is not a JSON object.");
            chain.Add((id, node));
            id = node["parent"]?.GetValue<string>() ?? string.Empty;
        }

        chain.Reverse();
        var layers = new List<Layer>();
        var history = new JsonArray();
        for (var i = 0; i < chain.Count; i++)
        {
            var (id, json) = chain[i];
            var name = $"Layer {i + 1} of {chain.Count} ({id}/layer.tar) in {origin}";
            var blob = contents.Get($"{id}/layer.tar", $"{id}/json");
            var check = await CheckLayerAsync(blob.Path, name, expectedDiffId: null, cancellationToken, blob.Digest).ConfigureAwait(false);
            layers.Add(Layer.Create(blob.Path, check.BlobDigest, check.BlobSize, check.Compression, check.DiffId));
            var createdBy = json["container_config"]?["Cmd"] is JsonArray cmd ? string.Join(' ', cmd.Select(c => c?.GetValue<string>())) : null;
            history.Add((JsonNode)new JsonObject { ["created"] = json["created"]?.DeepClone(), ["created_by"] = createdBy });
        }

        var config = chain[^1].Json.DeepClone().AsObject();
        foreach (var v1Only in new[] { "id", "parent", "Size", "layer_id", "parent_id", "throwaway", "checksum" })
        {
            config.Remove(v1Only);
        }

        config["rootfs"] = new JsonObject { ["type"] = "layers", ["diff_ids"] = new JsonArray(layers.Select(l => (JsonNode)l.DiffId.ToString()).ToArray()) };
        config["history"] = history;
        var configBytes = System.Text.Encoding.UTF8.GetBytes(config.ToJsonString());
        var parsed = ImageJson.ParseConfig(configBytes, $"{origin} ({chain[^1].Id}/json)");
        return new LoadedImage(Image.Create(ImageFormat.Docker, parsed, configBytes, layers), tops[0].Name, origin);
    }

    private static bool NameMatches(string candidate, string wanted)
        => candidate == wanted
            || (References.ImageReference.TryParse(candidate, out var a) && References.ImageReference.TryParse(wanted, out var b) && a == b);

    private interface IBlobLookup
    {
        byte[] ReadIndexJson();

        string PathOf(Digest digest, string referencedFrom);

        /// <summary>The digest when the file was hashed already (blob-store files are hashed on import), else null.</summary>
        Digest? KnownDigest(Digest wanted);
    }

    private sealed class LayoutBlobs(string root) : IBlobLookup
    {
        public byte[] ReadIndexJson()
        {
            var path = Path.Combine(root, "index.json");
            if (!File.Exists(path))
            {
                throw new ContainerException(ErrorCodes.ArchiveCorrupt, $"'{root}' has no index.json; it is not an OCI image layout.");
            }

            return File.ReadAllBytes(path);
        }

        public Digest? KnownDigest(Digest wanted) => null;

        public string PathOf(Digest digest, string referencedFrom)
        {
            // The digest was validated on parsing, so the path cannot leave the layout.
            var path = Path.Combine(root, "blobs", digest.Algorithm, digest.Hex);
            return File.Exists(path)
                ? path
                : throw new ContainerException(ErrorCodes.ArchiveCorrupt, $"The OCI layout '{root}' has no blob {digest}, needed by {referencedFrom}; the layout is incomplete.");
        }
    }

    private sealed class ArchiveBlobs(ArchiveContents contents) : IBlobLookup
    {
        public byte[] ReadIndexJson() => contents.ReadJson("index.json", "the archive");

        public string PathOf(Digest digest, string referencedFrom) => contents.Get($"blobs/{digest.Algorithm}/{digest.Hex}", referencedFrom).Path;

        public Digest? KnownDigest(Digest wanted) => contents.TryGet($"blobs/{wanted.Algorithm}/{wanted.Hex}", out var blob) ? blob.Digest : null;
    }
}
