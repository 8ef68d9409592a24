using System.Formats.Tar;
using Sdk.Containers.Digests;
using Sdk.Containers.Images;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Layers;

public sealed record LayerWriterOptions
{
    /// <summary>The mtime every entry gets: layer bytes must not depend on when files were written.</summary>
    public DateTimeOffset Timestamp { get; init; } = DefaultTimestamp;

    /// <summary>Algorithm and level (ContainerLayerCompression).</summary>
    public LayerCompressionSetting Compression { get; init; } = LayerCompressionSetting.Default;

    /// <summary>Cores that compress chunks at once; the output is the same whatever the number.</summary>
    public int CompressionWorkers { get; init; } = Environment.ProcessorCount;

    /// <summary>How source files are opened; tests count opens through it.</summary>
    internal Func<string, Stream> OpenFile { get; init; } = static path
        => new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);

    /// <summary>One second past the epoch, as Jib uses: some tools treat an mtime of 0 as "unset".</summary>
    public static readonly DateTimeOffset DefaultTimestamp = DateTimeOffset.FromUnixTimeSeconds(1);
}

/// <summary>
/// Writes a layer from a plan in one pass: tar entries stream through a sha256 (the diff_id), into gzip, through a
/// second sha256 (the blob digest) and into a temporary file that is renamed into the blob store.
/// When a blob for the same content may be known already (compressed here before, or offered by a
/// <see cref="ILayerBlobSource"/>), the tar is first only hashed — far cheaper than compressing it — and compressed only
/// when no known blob has the bytes this compression setting would write.
/// </summary>
public sealed class LayerWriter(BlobStore store, BuildCache? cache = null, IReadOnlyList<ILayerBlobSource>? sources = null)
{
    public async Task<Layer> WriteAsync(LayerPlan plan, LayerWriterOptions options, CancellationToken cancellationToken)
    {
        var key = cache is null ? null : CacheKey(plan, options);
        if (key is not null && cache!.TryGet(CacheKinds.Layers, key, out var record) && store.TryGet(record.Blob, out var cachedBlob))
        {
            return Layer.Create(cachedBlob.Path, record.Blob, cachedBlob.Size, record.Compression, record.DiffId) with { Source = LayerSource.BuildCache };
        }

        var layer = await FindKnownAsync(plan, options, cancellationToken).ConfigureAwait(false)
            ?? await WriteCoreAsync(plan, options, cancellationToken).ConfigureAwait(false);
        if (key is not null && store.TryGet(layer.Descriptor.Digest, out _))
        {
            await cache!.SetAsync(CacheKinds.Layers, key, new LayerRecord(layer.Descriptor.Digest, layer.DiffId, options.Compression.Algorithm), cancellationToken).ConfigureAwait(false);
        }

        return layer;
    }

    /// <summary>The tar as it would be written, hashed and probed but not compressed.</summary>
    public static async Task<LayerContent> MeasureAsync(LayerPlan plan, LayerWriterOptions options, CancellationToken cancellationToken)
    {
        var probe = new ContentProbe();
        await using var hash = HashingStream.ForWriting(probe, leaveOpen: true);
        await WriteTarAsync(hash, plan, options, cancellationToken).ConfigureAwait(false);
        return new LayerContent(hash.GetDigest(), probe.Written, probe.Crc, probe.FirstChunk);
    }

    // Hashing first costs a pass over the files; it pays only when some blob may be known, so a machine that has
    // compressed nothing yet and has no source to ask writes in one pass. A plain tar is written in the pass that
    // hashes it, so finding it known first would only add a pass, and no source is asked (a registry source reads
    // its images only when asked).
    private async Task<Layer?> FindKnownAsync(LayerPlan plan, LayerWriterOptions options, CancellationToken cancellationToken)
    {
        if (options.Compression.Algorithm == LayerCompression.None)
        {
            return null;
        }

        var mayKnow = cache?.HasAny(CacheKinds.CompressedBlobs) ?? false;
        foreach (var source in sources ?? [])
        {
            mayKnow = mayKnow || await source.AnyAsync(cancellationToken).ConfigureAwait(false);
        }

        if (!mayKnow)
        {
            return null;
        }

        var content = await MeasureAsync(plan, options, cancellationToken).ConfigureAwait(false);
        if (cache is not null && cache.TryGet(CacheKinds.CompressedBlobs, CompressedKey(content.DiffId, options.Compression), out var known) && store.TryGet(known.Blob, out var blob))
        {
            return Layer.Create(blob.Path, blob.Digest, blob.Size, options.Compression.Algorithm, content.DiffId) with { Source = LayerSource.SameContentStored };
        }

        foreach (var source in sources ?? [])
        {
            if (await source.FindAsync(content, options.Compression, cancellationToken).ConfigureAwait(false) is { } offered)
            {
                return offered;
            }
        }

        return null;
    }

    /// <summary>
    /// What decides a layer's bytes, and the file times that say whether a file may have changed: a layer whose
    /// files all keep their size and time is the layer built before.
    /// </summary>
    private static string CacheKey(LayerPlan plan, LayerWriterOptions options)
        => BuildCache.Key(CacheKinds.Layers, new[] { options.Timestamp.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), options.Compression.ToString() }
            .Concat(plan.Entries.Select(e => $"{e.Path}|{e.Kind}|{(int)e.Mode}|{e.Uid}|{e.Gid}|{e.LinkTarget}|{e.DeviceMajor},{e.DeviceMinor}|{(e.SourcePath is null ? string.Empty : BuildCache.FileStamp(e.SourcePath))}")));

    // The chunk size is part of what the gzip bytes depend on.
    private static string CompressedKey(Digest diffId, LayerCompressionSetting compression)
        => BuildCache.Key(CacheKinds.CompressedBlobs, [diffId.ToString(), compression.ToString(), ParallelGzipStream.DefaultChunkSize.ToString(System.Globalization.CultureInfo.InvariantCulture)]);

    private async Task<Layer> WriteCoreAsync(LayerPlan plan, LayerWriterOptions options, CancellationToken cancellationToken)
    {
        await using var pending = store.BeginWrite();
        Digest diffId;
        await using (var compressedHash = HashingStream.ForWriting(pending.Stream, leaveOpen: true))
        {
            var compression = options.Compression;
            Stream? compressor = compression.Algorithm switch
            {
                LayerCompression.Zstd => new ZstdSharp.CompressionStream(compressedHash, compression.Level, leaveOpen: true),
                LayerCompression.Gzip => new ParallelGzipStream(compressedHash, compression.Level, options.CompressionWorkers, leaveOpen: true),
                _ => null,
            };
            if (compressor is null)
            {
                // An uncompressed layer is its tar: one hash is both digests.
                await WriteTarAsync(compressedHash, plan, options, cancellationToken).ConfigureAwait(false);
                diffId = compressedHash.GetDigest();
            }
            else
            {
                await using (compressor)
                await using (var uncompressedHash = HashingStream.ForWriting(compressor, leaveOpen: true))
                {
                    await WriteTarAsync(uncompressedHash, plan, options, cancellationToken).ConfigureAwait(false);
                    diffId = uncompressedHash.GetDigest();
                }
            }

            await compressedHash.FlushAsync(cancellationToken).ConfigureAwait(false);
            pending.SetDigest(compressedHash.GetDigest(), compressedHash.BytesHashed);
        }

        var blob = await pending.CommitAsync(cancellationToken).ConfigureAwait(false);
        if (cache is not null)
        {
            await cache.SetAsync(CacheKinds.CompressedBlobs, CompressedKey(diffId, options.Compression), new CompressedBlobRecord(blob.Digest), cancellationToken).ConfigureAwait(false);
        }

        return Layer.Create(blob.Path, blob.Digest, blob.Size, options.Compression.Algorithm, diffId) with { Source = blob.Reused ? LayerSource.WrittenAgainSameBytes : LayerSource.Written };
    }

    private static async Task WriteTarAsync(Stream destination, LayerPlan plan, LayerWriterOptions options, CancellationToken cancellationToken)
    {
        await using var tar = new DeterministicTarWriter(destination);
        foreach (var entry in plan.Entries)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                await WriteEntryAsync(tar, entry, options, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not (ContainerException or OperationCanceledException))
            {
                // One coded line naming what was being written, never a bare exception type.
                var source = entry.SourcePath is { } path ? $"'{path}' as " : string.Empty;
                throw new ContainerException(ErrorCodes.LayerEntryFailed, $"{plan.Description}: could not add {source}/{entry.Path}: {ex.Message.TrimEnd('.')}.", ex);
            }
        }
    }

    private static async Task WriteEntryAsync(DeterministicTarWriter tar, LayerEntry entry, LayerWriterOptions options, CancellationToken cancellationToken)
    {
        var (type, name) = entry.Kind switch
        {
            LayerEntryKind.Directory => (TarEntryType.Directory, entry.Path + "/"),
            LayerEntryKind.Symlink => (TarEntryType.SymbolicLink, entry.Path),
            LayerEntryKind.HardLink => (TarEntryType.HardLink, entry.Path),
            LayerEntryKind.Fifo => (TarEntryType.Fifo, entry.Path),
            LayerEntryKind.CharacterDevice => (TarEntryType.CharacterDevice, entry.Path),
            LayerEntryKind.BlockDevice => (TarEntryType.BlockDevice, entry.Path),
            _ => (TarEntryType.RegularFile, entry.Path),
        };

        var fields = new TarHeaderFields(type, name, entry.Mode, options.Timestamp)
        {
            Uid = entry.Uid,
            Gid = entry.Gid,
            DeviceMajor = entry.DeviceMajor,
            DeviceMinor = entry.DeviceMinor,
            LinkName = entry.Kind is LayerEntryKind.Symlink or LayerEntryKind.HardLink
                ? entry.LinkTarget ?? throw new InvalidOperationException($"Symlink '{entry.Path}' has no target.")
                : null,
        };

        if (entry.Kind == LayerEntryKind.File && entry.SourcePath is { } source)
        {
            await using var data = options.OpenFile(source);
            await tar.WriteAsync(fields, data, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await tar.WriteAsync(fields, null, cancellationToken).ConfigureAwait(false);
        }
    }
}
