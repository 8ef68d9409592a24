using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Sdk.Containers.IO;

namespace Sdk.Containers.Storage;

/// <summary>
/// Small records beside the blob store that let a build skip work whose inputs have not changed: a layer whose plan
/// (paths, modes, sizes and modification times of its files) is the same as last time, a base blob verified before
/// and not touched since. A record only saves work: the blob it names must still be in the store, and a changed file
/// time merely costs a rebuild that yields the same digest (file times never reach the layer bytes). Records are typed,
/// one <see cref="CacheKind{T}"/> each (<see cref="CacheKinds"/>).
/// </summary>
public sealed class BuildCache(BlobStore store)
{
    private string Directory => Path.Combine(store.Root, "index");

    /// <summary>A key over the given parts, for use as a record name.</summary>
    public static string Key(IEnumerable<string> parts)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var part in parts)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(part));
            hash.AppendData("\n"u8);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>A key for a file's identity without reading it: path, size and modification time.</summary>
    public static string FileStamp(string path)
    {
        var info = new FileInfo(path);
        return info.Exists ? $"{info.FullName}|{info.Length}|{info.LastWriteTimeUtc.Ticks}" : $"{path}|missing";
    }

    /// <summary>A key for a record of <paramref name="kind"/>, over its version and the given parts.</summary>
    public static string Key<T>(CacheKind<T> kind, IEnumerable<string> parts) => Key(parts.Prepend(kind.KeyVersion));

    /// <summary>
    /// The record under <paramref name="key"/>: false when there is none, it does not parse (a damaged record is only
    /// a miss), or a blob it names is no longer in the store (then the work is done again).
    /// </summary>
    public bool TryGet<T>(CacheKind<T> kind, string key, [NotNullWhen(true)] out T? record)
        where T : class
    {
        record = null;
        var path = PathOf(kind.Name, key);
        if (!File.Exists(path))
        {
            return false;
        }

        try
        {
            record = JsonSerializer.Deserialize(File.ReadAllBytes(path), kind.Json);
            if (record is not null && kind.StoredBlobs(record).All(digest => store.TryGet(digest, out _)))
            {
                BlobStore.MarkUsed(new FileInfo(path));
                return true;
            }
        }
        catch (Exception ex) when (ex is JsonException or IOException or NotSupportedException or ArgumentException or InvalidOperationException)
        {
            // A damaged record is only a miss.
        }

        record = null;
        return false;
    }

    /// <summary>Whether any record of <paramref name="kind"/> was ever written here (one directory read, no parse).</summary>
    public bool HasAny<T>(CacheKind<T> kind)
    {
        var folder = Path.Combine(Directory, kind.Name);
        return System.IO.Directory.Exists(folder) && System.IO.Directory.EnumerateFiles(folder, "*.json").Any();
    }

    public Task SetAsync<T>(CacheKind<T> kind, string key, T record, CancellationToken cancellationToken)
        => AtomicFile.WriteAllBytesAsync(PathOf(kind.Name, key), JsonSerializer.SerializeToUtf8Bytes(record, kind.Json), cancellationToken);

    private string PathOf(string kind, string key) => Path.Combine(Directory, kind, key + ".json");
}
