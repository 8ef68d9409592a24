using System.Formats.Tar;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Layers;

/// <summary>
/// A reader of the file system a chain of layers makes: it is told each entry in layer order and what whiteouts and
/// replacements take away, and keeps what it needs (the base tree's directories and links, the SBOM's package
/// databases). Several readers share one pass over the layers.
/// </summary>
public interface ILayerTreeVisitor
{
    /// <summary>Whether <see cref="Add"/> needs the entry's data (a file it parses); it is read once for all readers.</summary>
    bool WantsData(string path, TarEntry entry);

    /// <summary>An entry of a layer at its normalised path, with its data when <see cref="WantsData"/> said so (else
    /// empty). A non-directory replaces what was at its path: <see cref="Remove"/> is called for the path first.</summary>
    void Add(string path, TarEntry entry, ReadOnlyMemory<byte> data);

    /// <summary>The path and everything under it are gone (a whiteout, or a non-directory put in its place).</summary>
    void Remove(string path);

    /// <summary>An opaque directory: what lower layers had under <paramref name="directory"/> ("" for the root) is
    /// gone, except the paths the same layer put there (<paramref name="layerPaths"/>).</summary>
    void HideLower(string directory, IReadOnlySet<string> layerPaths);
}

/// <summary>What a reader learns from a chain of layers, kept in the blob store's index by the chain's digest so
/// that a base is read once however often it is built on.</summary>
public interface ILayerChainFinding : ILayerTreeVisitor
{
    /// <summary>The index folder it is kept in (index/&lt;folder&gt;/&lt;chain id hex&gt;).</summary>
    string CacheFolder { get; }

    /// <summary>Takes the finding from its cache file; false when the file is missing, damaged or of another version.</summary>
    Task<bool> TryLoadAsync(string file, CancellationToken cancellationToken);

    /// <summary>Called after the walk: the finding is complete, to be written to the cache.</summary>
    byte[] Complete();
}

/// <summary>One pass over a chain of layers (tar headers and the data of the entries a reader reads), whiteouts
/// applied as overlay file systems apply them.</summary>
public static class LayerTreeWalk
{
    /// <summary>Fills each finding, from its cache file when it has one; the layers are read once, for all the
    /// findings that are not cached, and what they found is written to their caches.</summary>
    public static async Task ReadAsync(IReadOnlyList<Layer> layers, BlobStore store, IReadOnlyList<ILayerChainFinding> findings, CancellationToken cancellationToken)
    {
        var chain = layers.Count == 0 ? "empty" : SnapshotStore.ChainIds(layers)[^1].Hex;
        var missing = new List<(ILayerChainFinding Finding, string File)>();
        foreach (var finding in findings)
        {
            var file = Path.Combine(store.Root, "index", finding.CacheFolder, chain);
            if (!await finding.TryLoadAsync(file, cancellationToken).ConfigureAwait(false))
            {
                missing.Add((finding, file));
            }
            else
            {
                BlobStore.MarkUsed(new FileInfo(file));
            }
        }

        if (missing.Count == 0)
        {
            return;
        }

        await WalkAsync(layers, [.. missing.Select(m => (ILayerTreeVisitor)m.Finding)], cancellationToken).ConfigureAwait(false);
        foreach (var (finding, file) in missing)
        {
            var bytes = finding.Complete();
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            await IO.AtomicFile.WriteAllBytesAsync(file, bytes, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Tells each visitor every entry of every layer, base first, without any cache.</summary>
    public static async Task WalkAsync(IReadOnlyList<Layer> layers, IReadOnlyList<ILayerTreeVisitor> visitors, CancellationToken cancellationToken)
    {
        for (var i = 0; i < layers.Count; i++)
        {
            var layer = layers[i];
            await using var tar = LayerReader.Open(layer.OpenBlob(), new LayerReadOptions { Description = $"Layer {i + 1} of {layers.Count} ({layer.Descriptor.Digest})" });
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var opaque = new List<string>();
            while (await tar.NextAsync(cancellationToken).ConfigureAwait(false) is { } entry)
            {
                var path = LayerPlan.NormalizePath(entry.Name);
                if (path.Length == 0 || entry.EntryType is TarEntryType.GlobalExtendedAttributes)
                {
                    continue;
                }

                var name = path[(path.LastIndexOf('/') + 1)..];
                var parent = path.Length > name.Length ? path[..(path.Length - name.Length - 1)] : string.Empty;
                if (name == ".wh..wh..opq")
                {
                    opaque.Add(parent);
                    continue;
                }

                if (name.StartsWith(".wh.", StringComparison.Ordinal))
                {
                    var removed = parent.Length == 0 ? name[4..] : $"{parent}/{name[4..]}";
                    foreach (var visitor in visitors)
                    {
                        visitor.Remove(removed);
                    }

                    continue;
                }

                seen.Add(path);
                var data = ReadOnlyMemory<byte>.Empty;
                if (entry.EntryType is TarEntryType.RegularFile or TarEntryType.V7RegularFile && entry.DataStream is { } stream
                    && visitors.Any(v => v.WantsData(path, entry)))
                {
                    try
                    {
                        data = await ReadAsync(stream, entry.Length, cancellationToken).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (LayerReader.IsCorruption(ex))
                    {
                        throw tar.Corrupt(ex);
                    }
                }

                foreach (var visitor in visitors)
                {
                    if (entry.EntryType != TarEntryType.Directory)
                    {
                        visitor.Remove(path);
                    }

                    visitor.Add(path, entry, data);
                }
            }

            // An opaque directory hides what lower layers had in it, not what this layer put there.
            foreach (var directory in opaque)
            {
                foreach (var visitor in visitors)
                {
                    visitor.HideLower(directory, seen);
                }
            }
        }
    }

    private static async Task<ReadOnlyMemory<byte>> ReadAsync(Stream data, long length, CancellationToken cancellationToken)
    {
        var buffer = new byte[length];
        await data.ReadExactlyAsync(buffer, cancellationToken).ConfigureAwait(false);
        return buffer;
    }
}
