namespace Sdk.Containers.IO;

/// <summary>
/// An output file written under a temporary name beside its destination and renamed over it only when complete,
/// so a failed or cancelled build never leaves a half-written archive behind.
/// </summary>
public sealed class AtomicFile : IAsyncDisposable
{
    private readonly string _destination;
    private readonly string _temp;
    private bool _committed;

    private AtomicFile(string destination)
    {
        _destination = Path.GetFullPath(destination);
        var directory = Path.GetDirectoryName(_destination)!;
        Directory.CreateDirectory(directory);
        _temp = Path.Combine(directory, $".{Path.GetFileName(_destination)}.{Guid.NewGuid():N}.tmp");
        Stream = new FileStream(_temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
    }

    public FileStream Stream { get; }

    public static AtomicFile Create(string destination) => new(destination);

    public static async Task WriteAllBytesAsync(string destination, ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        await using var file = Create(destination);
        await file.Stream.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
        await file.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task CommitAsync(CancellationToken cancellationToken)
    {
        await Stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        Stream.Flush(flushToDisk: true);
        await Stream.DisposeAsync().ConfigureAwait(false);
        File.Move(_temp, _destination, overwrite: true);
        _committed = true;
    }

    public async ValueTask DisposeAsync()
    {
        await Stream.DisposeAsync().ConfigureAwait(false);
        if (!_committed)
        {
            File.Delete(_temp);
        }
    }
}
