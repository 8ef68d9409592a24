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
/// </summary>
public sealed class LayerWriter(BlobStore store, BuildCache? cache = null)
{
    public async Task<Layer> WriteAsync(LayerPlan plan, LayerWriterOptions options, CancellationToken cancellationToken)
    {
        var key = cache is null ? null : CacheKey(plan, options);
        if (key is not null && cache!.TryGet(CacheKinds.Layers, key, out var record) && store.TryGet(record.Blob, out var cachedBlob))
        {
            return Layer.Create(cachedBlob.Path, record.Blob, cachedBlob.Size, record.Compression, record.DiffId) with { Source = LayerSource.BuildCache };
        }

        var layer = await WriteCoreAsync(plan, options, cancellationToken).ConfigureAwait(false);
        if (key is not null)
        {
            await cache!.SetAsync(CacheKinds.Layers, key, new LayerRecord(layer.Descriptor.Digest, layer.DiffId, options.Compression.Algorithm), cancellationToken).ConfigureAwait(false);
        }

        return layer;
    }

    /// <summary>
    /// What decides a layer's bytes, and the file times that say whether a file may have changed: a layer whose
    /// files all keep their size and time is the layer built before.
    /// </summary>
    private static string CacheKey(LayerPlan plan, LayerWriterOptions options)
        => BuildCache.Key(CacheKinds.Layers, new[] { options.Timestamp.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), options.Compression.ToString() }
            .Concat(plan.Entries.Select(e => $"{e.Path}|{e.Kind}|{(int)e.Mode}|{e.Uid}|{e.Gid}|{e.LinkTarget}|{e.DeviceMajor},{e.DeviceMinor}|{(e.SourcePath is null ? string.Empty : BuildCache.FileStamp(e.SourcePath))}")));

    private async Task<Layer> WriteCoreAsync(LayerPlan plan, LayerWriterOptions options, CancellationToken cancellationToken)
    {
        await using var pending = store.BeginWrite();
        Digest diffId;
        await using (var compressedHash = HashingStream.ForWriting(pending.Stream, leaveOpen: true))
        {
            var compression = options.Compression;
            await using (var gzip = compression.Algorithm == LayerCompression.Zstd
                ? (Stream)new ZstdSharp.CompressionStream(compressedHash, compression.Level, leaveOpen: true)
                : new ParallelGzipStream(compressedHash, compression.Level, options.CompressionWorkers, leaveOpen: true))
            await using (var uncompressedHash = HashingStream.ForWriting(gzip, leaveOpen: true))
            {
                await using (var tar = new DeterministicTarWriter(uncompressedHash))
                {
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

                diffId = uncompressedHash.GetDigest();
            }

            await compressedHash.FlushAsync(cancellationToken).ConfigureAwait(false);
            pending.SetDigest(compressedHash.GetDigest(), compressedHash.BytesHashed);
        }

        var blob = await pending.CommitAsync(cancellationToken).ConfigureAwait(false);
        return Layer.Create(blob.Path, blob.Digest, blob.Size, options.Compression.Algorithm, diffId) with { Source = blob.Reused ? LayerSource.WrittenAgainSameBytes : LayerSource.Written };
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
