using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Sdk.Containers.Digests;
using Sdk.Containers.IO;

namespace Sdk.Containers.Storage;

/// <summary>
/// Small records beside the blob store that let a build skip work whose inputs have not changed: a layer whose plan
/// (paths, modes, sizes and modification times of its files) is the same as last time, a base blob verified before
/// and not touched since. A record only saves work: the blob it names must still be in the store, and a changed file
/// time merely costs a rebuild that yields the same digest (file times never reach the layer bytes).
/// </summary>
public sealed class BuildCache(BlobStore store)
{
    /// <summary>Fields whose name starts with this hold digests of blobs that must be in the store for a hit.</summary>
    public const string StoredPrefix = "stored:";

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

    public bool TryGet(string kind, string key, out Dictionary<string, string> record)
    {
        record = [];
        var path = PathOf(kind, key);
        if (!File.Exists(path))
        {
            return false;
        }

        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            foreach (var property in document.RootElement.EnumerateObject())
            {
                record[property.Name] = property.Value.GetString() ?? string.Empty;
            }
        }
        catch (Exception ex) when (ex is JsonException or IOException or InvalidOperationException)
        {
            // A damaged record is only a cache miss.
            return false;
        }

        // A blob a record says is in the store must still be there; otherwise the work is done again.
        foreach (var (name, value) in record)
        {
            if (name.StartsWith(StoredPrefix, StringComparison.Ordinal) && (!Digest.TryParse(value, out var digest) || !store.TryGet(digest, out _)))
            {
                return false;
            }
        }

        return true;
    }

    public async Task SetAsync(string kind, string key, IReadOnlyDictionary<string, string> record, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var (name, value) in record)
            {
                writer.WriteString(name, value);
            }

            writer.WriteEndObject();
        }

        await AtomicFile.WriteAllBytesAsync(PathOf(kind, key), buffer.ToArray(), cancellationToken).ConfigureAwait(false);
    }

    private string PathOf(string kind, string key) => Path.Combine(Directory, kind, key + ".json");
}
