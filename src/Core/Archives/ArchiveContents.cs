using System.Formats.Tar;
using Sdk.Containers.Digests;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Archives;

/// <summary>
/// The files of an image archive (docker-archive or oci-archive), each copied into the blob store as it is read and
/// hashed on the way, so the archive is read once and every later check is a lookup. Names inside the archive are
/// only lookup keys: nothing is ever written to disk under a name taken from the archive.
/// </summary>
public sealed class ArchiveContents
{
    /// <summary>JSON documents in an archive are small; a larger one is refused rather than read into memory.</summary>
    public const long MaxJsonSize = 16 * 1024 * 1024;

    private readonly Dictionary<string, StoredBlob> _files;
    private readonly Dictionary<string, string> _links;

    private ArchiveContents(string archivePath, Dictionary<string, StoredBlob> files, Dictionary<string, string> links)
    {
        ArchivePath = archivePath;
        _files = files;
        _links = links;
    }

    public string ArchivePath { get; }

    public IEnumerable<string> Names => _files.Keys.Concat(_links.Keys);

    /// <param name="cache">When given, an archive unchanged since an earlier read (path, size, time) is not read again:
    /// its files are already in the store.</param>
    public static async Task<ArchiveContents> ReadAsync(string archivePath, BlobStore store, CancellationToken cancellationToken, BuildCache? cache = null)
    {
        if (!File.Exists(archivePath))
        {
            throw new ContainerException(ErrorCodes.InvalidImageSource, $"The archive '{archivePath}' does not exist.");
        }

        var key = BuildCache.Key(CacheKinds.Archives, [BuildCache.FileStamp(archivePath)]);
        if (cache is not null && cache.TryGet(CacheKinds.Archives, key, out var record) && FromRecord(archivePath, store, record) is { } cached)
        {
            return cached;
        }

        ArchiveContents contents;
        await using (var stream = new FileStream(archivePath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan))
        {
            contents = await ReadAsync(stream, archivePath, store, cancellationToken).ConfigureAwait(false);
        }

        if (cache is not null)
        {
            await cache.SetAsync(CacheKinds.Archives, key, contents.ToRecord(), cancellationToken).ConfigureAwait(false);
        }

        return contents;
    }

    /// <summary>What a later build needs to have these contents again from the store, without the archive.</summary>
    public ArchiveRecord ToRecord() => new(_files.ToDictionary(f => f.Key, f => f.Value.Digest, StringComparer.Ordinal), _links);

    /// <summary>The contents of an archive read before; null when one of its files is no longer in the store.</summary>
    public static ArchiveContents? FromRecord(string archivePath, BlobStore store, ArchiveRecord record)
    {
        var files = new Dictionary<string, StoredBlob>(StringComparer.Ordinal);
        foreach (var (name, digest) in record.Files)
        {
            if (!store.TryGet(digest, out var blob))
            {
                return null;
            }

            files[name] = blob;
        }

        return new ArchiveContents(archivePath, files, new Dictionary<string, string>(record.Links, StringComparer.Ordinal));
    }

    /// <summary>An archive read once from start to end, so it need not be a file (`docker save` output, as it comes).</summary>
    /// <param name="archivePath">What the archive is called in errors.</param>
    public static async Task<ArchiveContents> ReadAsync(Stream stream, string archivePath, BlobStore store, CancellationToken cancellationToken)
    {
        var files = new Dictionary<string, StoredBlob>(StringComparer.Ordinal);
        var links = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            await using var reader = new TarReader(stream, leaveOpen: true);
            while (await reader.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false) is { } entry)
            {
                var name = Normalize(entry.Name);
                switch (entry.EntryType)
                {
                    case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                        var stored = entry.DataStream is null
                            ? await store.ImportAsync(Stream.Null, null, name, cancellationToken).ConfigureAwait(false)
                            : await store.ImportAsync(entry.DataStream, null, name, cancellationToken).ConfigureAwait(false);
                        files[name] = stored;
                        break;
                    case TarEntryType.SymbolicLink:
                        // Old `docker save` wrote a repeated layer as a link to the first copy (../<id>/layer.tar).
                        links[name] = ResolveLink(name, entry.LinkName);
                        break;
                    case TarEntryType.HardLink:
                        links[name] = Normalize(entry.LinkName);
                        break;
                }
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException or FormatException or ArgumentException)
        {
            throw new ContainerException(ErrorCodes.ArchiveCorrupt, $"The archive '{archivePath}' is not a readable tar file ({ex.Message.TrimEnd('.')}); it may be truncated or not an image archive.", ex);
        }

        return new ArchiveContents(archivePath, files, links);
    }

    public bool Contains(string name) => TryGet(name, out _);

    public bool TryGet(string name, out StoredBlob blob)
    {
        var key = Normalize(name);
        for (var hops = 0; hops < 8 && _links.TryGetValue(key, out var target); hops++)
        {
            key = target;
        }

        return _files.TryGetValue(key, out blob!);
    }

    public StoredBlob Get(string name, string referencedFrom)
        => TryGet(name, out var blob)
            ? blob
            : throw new ContainerException(ErrorCodes.ArchiveCorrupt, $"The archive '{ArchivePath}' has no file '{name}', but {referencedFrom} names it; the archive is incomplete or was not written by `docker save`.");

    public byte[] ReadJson(string name, string referencedFrom)
    {
        var blob = Get(name, referencedFrom);
        if (blob.Size > MaxJsonSize)
        {
            throw new ContainerException(ErrorCodes.ArchiveCorrupt, $"'{name}' in '{ArchivePath}' is {blob.Size} bytes, too large for a JSON document of an image.");
        }

        return File.ReadAllBytes(blob.Path);
    }

    internal static string Normalize(string name)
    {
        var parts = new List<string>();
        foreach (var part in name.Replace('\\', '/').Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == "..")
            {
                if (parts.Count > 0)
                {
                    parts.RemoveAt(parts.Count - 1);
                }
            }
            else if (part != ".")
            {
                parts.Add(part);
            }
        }

        return string.Join('/', parts);
    }

    /// <summary>Where a symbolic link at <paramref name="name"/> points, as a path from the root.</summary>
    internal static string ResolveLink(string name, string target)
    {
        if (target.StartsWith('/'))
        {
            return Normalize(target);
        }

        var slash = name.LastIndexOf('/');
        return Normalize(slash < 0 ? target : $"{name[..slash]}/{target}");
    }
}
