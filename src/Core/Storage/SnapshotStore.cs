using System.Globalization;
using System.Text;
using Sdk.Containers.Digests;
using Sdk.Containers.Layers;

namespace Sdk.Containers.Storage;

/// <summary>
/// Unpacked layers, once per machine, keyed by chain ID (the layer and everything under it), shared by every build,
/// stage and project: `snapshots/&lt;first 16 hex of the chain ID&gt;/fs` holds one layer's own files in overlayfs's
/// upper-directory form (a deletion is a character device 0:0, a directory that hides the lower ones carries
/// trusted.overlay.opaque), so a step mounts its parents' snapshots as the lower directories instead of unpacking them.
/// The ids are short because the kernel takes at most a page of mount options.
/// A snapshot appears by renaming a finished directory into place, so a killed build leaves none half-made.
/// </summary>
public sealed class SnapshotStore
{
    private const string ChainFile = "chain";

    public SnapshotStore(string root)
    {
        Root = BuildWorkspace.PrivateDirectory(root);
    }

    public string Root { get; }

    public static SnapshotStore ForCache(BlobStore store) => new(Path.Combine(store.Root, "snapshots"));

    /// <summary>The chain IDs (OCI image spec) of each prefix of the layers: element i identifies layers 0..i.</summary>
    public static IReadOnlyList<Digest> ChainIds(IReadOnlyList<Layer> layers)
    {
        var chains = new List<Digest>(layers.Count);
        foreach (var layer in layers)
        {
            chains.Add(chains.Count == 0 ? layer.DiffId : Digest.Compute(Encoding.ASCII.GetBytes($"{chains[^1]} {layer.DiffId}")));
        }

        return chains;
    }

    private string DirectoryOf(Digest chainId) => Path.Combine(Root, chainId.Hex[..16]);

    /// <summary>The snapshot's file tree, when this machine has it; marks it used (for eviction).</summary>
    public string? TryGet(Digest chainId)
    {
        var directory = DirectoryOf(chainId);
        var chainFile = Path.Combine(directory, ChainFile);
        try
        {
            var recorded = File.ReadAllText(chainFile).Split('\n')[0];
            if (recorded != chainId.ToString())
            {
                return null;
            }

            File.SetLastWriteTimeUtc(chainFile, DateTime.UtcNow);
            return Path.Combine(directory, "fs");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// Makes <paramref name="pending"/> (a directory holding `fs`, on the same file system) the snapshot of the chain.
    /// When another build committed the same chain first, ours is removed and theirs is used: the content is the same.
    /// </summary>
    public string Commit(Digest chainId, string pending)
    {
        var fs = Path.Combine(pending, "fs");
        File.WriteAllText(Path.Combine(pending, ChainFile), $"{chainId}\n{SizeOf(fs).ToString(CultureInfo.InvariantCulture)}\n");
        var directory = DirectoryOf(chainId);
        try
        {
            Directory.Move(pending, directory);
        }
        catch (IOException) when (Directory.Exists(directory))
        {
            Delete(pending);
        }

        return TryGet(chainId) ?? throw new IOException($"The snapshot {chainId} could not be stored in {Root}.");
    }

    /// <summary>Every committed snapshot, least recently used first.</summary>
    public IReadOnlyList<(string Directory, long Size, DateTime LastUsed)> List()
    {
        var found = new List<(string, long, DateTime)>();
        foreach (var directory in Directory.EnumerateDirectories(Root))
        {
            var chainFile = Path.Combine(directory, ChainFile);
            try
            {
                var lines = File.ReadAllText(chainFile).Split('\n');
                var size = lines.Length > 1 && long.TryParse(lines[1], NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s : 0;
                found.Add((directory, size, File.GetLastWriteTimeUtc(chainFile)));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Not a snapshot (yet, or any more).
            }
        }

        return [.. found.OrderBy(f => f.Item3).ThenBy(f => f.Item1, StringComparer.Ordinal)];
    }

    /// <summary>
    /// The store to itself, to evict from: null while any build uses it (every build holds it shared, see
    /// <see cref="BuildWorkspace.ShareSnapshots"/>).
    /// </summary>
    public FileStream? TryExclusive() => StoreLock.TryOpen(Path.Combine(Root, ".lock"), exclusive: true);

    /// <summary>Removes least recently used snapshots until the store holds at most <paramref name="keepBytes"/>;
    /// only with <see cref="TryExclusive"/> held.</summary>
    /// <returns>How many snapshots and bytes were removed.</returns>
    public (int Count, long Bytes) Evict(long keepBytes)
    {
        var removed = LeastRecentlyUsed.Remove(List(), keepBytes, s => s.Size, s => Remove(s.Directory));
        return (removed.Count, removed.Sum(s => s.Size));
    }

    /// <summary>Removes one snapshot of <see cref="List"/>; only with <see cref="TryExclusive"/> held.</summary>
    public static void Remove(string directory)
    {
        // The chain file goes first: a snapshot half deleted is then no snapshot at all.
        File.Delete(Path.Combine(directory, ChainFile));
        Delete(directory);
    }

    public static long SizeOf(string directory)
    {
        long size = 0;
        foreach (var file in new DirectoryInfo(directory).EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = true }))
        {
            size += file.Length;
        }

        return size;
    }

    internal static void Delete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
