using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;

namespace Sdk.Containers.Layers;

/// <summary>
/// A gzip writer that compresses fixed-size chunks of its input on several cores at once, as pigz does, and writes
/// them in order as one gzip member. Each chunk is deflated on its own and ends on a byte boundary (a sync flush), so
/// the output depends only on the input, the level and the chunk size: the same bytes with 1 worker or 16.
/// The CRC and length in the trailer are computed as the bytes arrive, in order.
/// </summary>
public sealed class ParallelGzipStream : Stream
{
    public const int DefaultChunkSize = 1 << 20;

    // mtime 0, no extra flags, OS 3 (Unix): what GZipStream writes on Linux, so the bytes do not depend on the clock.
    private static readonly byte[] Header = [0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03];

    private readonly Stream _output;
    private readonly bool _leaveOpen;
    private readonly int _level;
    private readonly int _chunkSize;
    private readonly int _maxInFlight;
    private readonly Queue<Task<byte[]>> _inFlight = new();
    private readonly Crc32 _crc = new();
    private byte[] _buffer;
    private int _buffered;
    private long _length;
    private bool _headerWritten;
    private bool _finished;

    public ParallelGzipStream(Stream output, int level, int workers = 0, int chunkSize = DefaultChunkSize, bool leaveOpen = false)
    {
        if (level is < 0 or > 9)
        {
            throw new ArgumentOutOfRangeException(nameof(level), "gzip levels go from 0 to 9.");
        }

        _output = output;
        _leaveOpen = leaveOpen;
        _level = level;
        _chunkSize = chunkSize;
        _maxInFlight = Math.Max(1, workers <= 0 ? Environment.ProcessorCount : workers);
        _buffer = new byte[chunkSize];
    }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => !_finished;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => _length;
        set => throw new NotSupportedException();
    }

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_finished, this);
        _crc.Append(buffer.Span);
        _length += buffer.Length;
        while (buffer.Length > 0)
        {
            var take = Math.Min(buffer.Length, _chunkSize - _buffered);
            buffer.Span[..take].CopyTo(_buffer.AsSpan(_buffered));
            _buffered += take;
            buffer = buffer[take..];
            if (_buffered == _chunkSize)
            {
                await SubmitAsync(final: false, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Compresses what is left as the final chunk and writes the trailer. Nothing can be written after it.</summary>
    public async Task FinishAsync(CancellationToken cancellationToken)
    {
        if (_finished)
        {
            return;
        }

        await SubmitAsync(final: true, cancellationToken).ConfigureAwait(false);
        while (_inFlight.Count > 0)
        {
            await WriteOldestAsync(cancellationToken).ConfigureAwait(false);
        }

        await _output.WriteAsync(Trailer(_crc.GetCurrentHashAsUInt32(), _length), cancellationToken).ConfigureAwait(false);
        await _output.FlushAsync(cancellationToken).ConfigureAwait(false);
        _finished = true;
    }

    private async Task SubmitAsync(bool final, CancellationToken cancellationToken)
    {
        if (!_headerWritten)
        {
            await _output.WriteAsync(Header, cancellationToken).ConfigureAwait(false);
            _headerWritten = true;
        }

        var chunk = _buffer;
        var count = _buffered;
        var level = _level;
        _inFlight.Enqueue(Task.Run(() => Deflate(chunk, count, level, final), cancellationToken));
        _buffer = new byte[_chunkSize];
        _buffered = 0;
        while (_inFlight.Count >= _maxInFlight)
        {
            await WriteOldestAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task WriteOldestAsync(CancellationToken cancellationToken)
    {
        var compressed = await _inFlight.Dequeue().ConfigureAwait(false);
        await _output.WriteAsync(compressed, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The gzip trailer: the CRC-32 of the input and its length mod 2^32, little-endian.</summary>
    internal static byte[] Trailer(uint crc, long length)
    {
        var trailer = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(trailer, crc);
        BinaryPrimitives.WriteUInt32LittleEndian(trailer.AsSpan(4), unchecked((uint)length));
        return trailer;
    }

    /// <summary>
    /// The bytes this stream writes first for an input whose first chunk is <paramref name="firstChunk"/>: the header
    /// and that chunk deflated on its own (final when it is the whole input). They depend on nothing after it.
    /// </summary>
    internal static byte[] Begin(ReadOnlySpan<byte> firstChunk, int level, bool final)
    {
        var deflated = Deflate(firstChunk.ToArray(), firstChunk.Length, level, final);
        return [.. Header, .. deflated];
    }

    /// <summary>
    /// Raw deflate of one chunk. A non-final chunk ends with a sync flush (an empty stored block, byte aligned, BFINAL
    /// clear) so the next chunk's blocks can follow it; the final one ends the stream.
    /// </summary>
    internal static byte[] Deflate(byte[] data, int count, int level, bool final)
    {
        if (count == 0)
        {
            // DeflateStream writes nothing for no input; the stream still needs its last block: an empty, final,
            // fixed-Huffman block.
            return final ? [0x03, 0x00] : [];
        }

        using var output = new MemoryStream(count / 2 + 64);
        var deflate = new DeflateStream(output, new ZLibCompressionOptions { CompressionLevel = level }, leaveOpen: true);
        deflate.Write(data, 0, count);
        if (final)
        {
            deflate.Dispose();
            return output.ToArray();
        }

        deflate.Flush();
        var bytes = output.ToArray();

        // Disposing would append a final block; the bytes were taken before it.
        deflate.Dispose();
        return bytes;
    }

    public override void Flush()
    {
        // Data is compressed in whole chunks; FinishAsync writes the rest.
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            FinishAsync(CancellationToken.None).GetAwaiter().GetResult();
            if (!_leaveOpen)
            {
                _output.Dispose();
            }
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await FinishAsync(CancellationToken.None).ConfigureAwait(false);
        if (!_leaveOpen)
        {
            await _output.DisposeAsync().ConfigureAwait(false);
        }

        GC.SuppressFinalize(this);
    }
}
