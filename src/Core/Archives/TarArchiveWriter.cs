using System.Formats.Tar;
using Sdk.Containers.Layers;

namespace Sdk.Containers.Archives;

/// <summary>Writes the plain files of an image archive (blobs and JSON) with fixed, reproducible headers.</summary>
internal sealed class TarArchiveWriter(Stream output, DateTimeOffset timestamp) : IAsyncDisposable
{
    private readonly DeterministicTarWriter _tar = new(output);
    private readonly HashSet<string> _written = new(StringComparer.Ordinal);

    public async Task AddDirectoryAsync(string name, CancellationToken cancellationToken)
    {
        if (_written.Add(name))
        {
            await _tar.WriteAsync(new TarHeaderFields(TarEntryType.Directory, name.TrimEnd('/') + "/", LayerEntry.DirectoryMode, timestamp), null, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task AddFileAsync(string name, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        using var stream = new MemoryStream(content.ToArray(), writable: false);
        await AddFileAsync(name, stream, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Adds a file once: blobs shared by several layers or images are written a single time.</summary>
    public async Task AddFileAsync(string name, Stream content, CancellationToken cancellationToken)
    {
        if (!_written.Add(name))
        {
            return;
        }

        await _tar.WriteAsync(new TarHeaderFields(TarEntryType.RegularFile, name, LayerEntry.RegularMode, timestamp), content, cancellationToken).ConfigureAwait(false);
    }

    public bool Contains(string name) => _written.Contains(name);

    public ValueTask DisposeAsync() => _tar.DisposeAsync();
}
