using Sdk.Containers.Digests;

namespace Sdk.Containers.Storage;

/// <param name="Reused">The store had the blob before this write.</param>
public sealed record StoredBlob(Digest Digest, long Size, string Path, bool Reused = false);

/// <summary>
/// A content-addressed folder of blobs (blobs/sha256/&lt;hex&gt;), shared by builds. A blob is written under a temporary
/// name and renamed into place only once its digest is known, so a reader never sees a partial blob and two builds
/// writing the same blob at once both succeed.
/// </summary>
public sealed class BlobStore
{
    public BlobStore(string root)
    {
        Root = Path.GetFullPath(root);
    }

    public string Root { get; }

    /// <summary>
    /// The store builds share unless told otherwise: $SDK_CONTAINERS_CACHE, else $XDG_CACHE_HOME/sdk-containers,
    /// else ~/.cache/sdk-containers.
    /// </summary>
    public static BlobStore CreateDefault(string? overridePath = null)
    {
        if (!string.IsNullOrWhiteSpace(overridePath))
        {
            return new BlobStore(overridePath);
        }

        var fromEnvironment = Environment.GetEnvironmentVariable("SDK_CONTAINERS_CACHE");
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            return new BlobStore(fromEnvironment);
        }

        var cacheHome = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (string.IsNullOrWhiteSpace(cacheHome))
        {
            cacheHome = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        }

        return new BlobStore(Path.Combine(cacheHome, "sdk-containers"));
    }

    public string PathOf(Digest digest) => Path.Combine(Root, "blobs", digest.Algorithm, digest.Hex);

    /// <summary>Bytes of new blobs this process committed: a process that added nothing has nothing to evict.</summary>
    public long BytesAdded => Interlocked.Read(ref _bytesAdded);

    private long _bytesAdded;

    /// <summary>The blob when the store has it; marks it used, for least-recently-used eviction.</summary>
    public bool TryGet(Digest digest, out StoredBlob blob)
    {
        var info = new FileInfo(PathOf(digest));
        blob = new StoredBlob(digest, info.Exists ? info.Length : 0, info.FullName);
        if (info.Exists)
        {
            MarkUsed(info);
        }

        return info.Exists;
    }

    /// <summary>
    /// Held shared by every build while it lives (<see cref="ImageServices"/>); <see cref="StoreEviction"/> takes it
    /// alone, so no blob a build may still read is removed under it.
    /// </summary>
    public FileStream Share() => StoreLock.Share(LockFile, $"The cache {Root}");

    /// <summary>The store to itself, to evict from: null while any build holds it.</summary>
    public FileStream? TryExclusive() => StoreLock.TryOpen(LockFile, exclusive: true);

    private string LockFile => Path.Combine(Root, ".lock");

    /// <summary>
    /// Use is recorded in the access time, set explicitly (mount options like relatime make the kernel's own update
    /// rare): the modification time is part of file stamps (a pulled layer's verification is keyed by it), so it is
    /// never touched. Set at most once an hour, so a build does not write metadata for every read.
    /// </summary>
    internal static void MarkUsed(FileInfo file)
    {
        var now = DateTime.UtcNow;
        if (now - file.LastAccessTimeUtc < TimeSpan.FromHours(1))
        {
            return;
        }

        try
        {
            file.LastAccessTimeUtc = now;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Read-only cache, or the file just went: it counts as less recently used, nothing worse.
        }
    }

    public PendingBlob BeginWrite()
    {
        var temp = Path.Combine(Root, "tmp");
        Directory.CreateDirectory(temp);
        return new PendingBlob(this, Path.Combine(temp, $"{Guid.NewGuid():N}.partial"));
    }

    /// <summary>Copies a stream into the store, hashing it on the way; fails if it does not match <paramref name="expected"/>.</summary>
    public async Task<StoredBlob> ImportAsync(Stream source, Digest? expected, string description, CancellationToken cancellationToken)
    {
        await using var pending = BeginWrite();
        await using (var hashing = HashingStream.ForWriting(pending.Stream, leaveOpen: true))
        {
            await source.CopyToAsync(hashing, 1 << 16, cancellationToken).ConfigureAwait(false);
            var actual = hashing.GetDigest();
            if (expected is { } wanted && wanted != actual)
            {
                throw new ContainerException(ErrorCodes.DigestMismatch, $"{description} has digest {actual}, but {wanted} was expected; the content is corrupt or was altered.");
            }

            pending.SetDigest(actual, hashing.BytesHashed);
        }

        return await pending.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    internal StoredBlob Commit(string tempPath, Digest digest, long size)
    {
        var final = PathOf(digest);
        Directory.CreateDirectory(Path.GetDirectoryName(final)!);
        if (File.Exists(final))
        {
            File.Delete(tempPath);
            MarkUsed(new FileInfo(final));
            return new StoredBlob(digest, size, final, Reused: true);
        }
        else
        {
            // Another build may commit the same digest between the check and the move: the content is identical,
            // so overwriting is harmless and rename keeps readers from seeing a partial file.
            File.Move(tempPath, final, overwrite: true);
            Interlocked.Add(ref _bytesAdded, size);
        }

        return new StoredBlob(digest, size, final);
    }
}

/// <summary>A blob being written; it is deleted on dispose unless committed.</summary>
public sealed class PendingBlob : IAsyncDisposable
{
    private readonly BlobStore _store;
    private readonly string _tempPath;
    private Digest? _digest;
    private long _size;
    private bool _committed;

    internal PendingBlob(BlobStore store, string tempPath)
    {
        _store = store;
        _tempPath = tempPath;
        Stream = new FileStream(tempPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
    }

    public FileStream Stream { get; }

    public void SetDigest(Digest digest, long size)
    {
        _digest = digest;
        _size = size;
    }

    public async Task<StoredBlob> CommitAsync(CancellationToken cancellationToken)
    {
        var digest = _digest ?? throw new InvalidOperationException("The digest of a pending blob must be set before it is committed.");
        await Stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        await Stream.DisposeAsync().ConfigureAwait(false);
        var blob = _store.Commit(_tempPath, digest, _size);
        _committed = true;
        return blob;
    }

    public async ValueTask DisposeAsync()
    {
        await Stream.DisposeAsync().ConfigureAwait(false);
        if (!_committed)
        {
            File.Delete(_tempPath);
        }
    }
}
