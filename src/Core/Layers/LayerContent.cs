using System.IO.Hashing;
using Sdk.Containers.Digests;

namespace Sdk.Containers.Layers;

/// <summary>
/// A layer's uncompressed tar, measured without compressing it: its diff_id, and what a gzip blob of it written by
/// <see cref="ParallelGzipStream"/> must begin with (the first chunk, compressed) and end with (the CRC-32 and length
/// of the trailer). With these, a blob offered for the same content elsewhere is checked by two small reads.
/// </summary>
public sealed record LayerContent(Digest DiffId, long Length, uint Crc32, ReadOnlyMemory<byte> FirstChunk)
{
    /// <summary>
    /// The first bytes a gzip blob of this content at <paramref name="level"/> has: the header and the first chunk,
    /// deflated on its own. When the whole tar fits in one chunk this is the whole blob but its 8-byte trailer.
    /// </summary>
    public byte[] GzipPrefix(int level) => ParallelGzipStream.Begin(FirstChunk.Span, level, final: Length < ParallelGzipStream.DefaultChunkSize);

    /// <summary>The 8 bytes a gzip blob of this content ends with: CRC-32 and length mod 2^32, little-endian.</summary>
    public byte[] GzipTrailer() => ParallelGzipStream.Trailer(Crc32, Length);
}

/// <summary>A sink for a tar being measured: keeps its first chunk and a running CRC-32, and writes nothing.</summary>
internal sealed class ContentProbe : Stream
{
    private readonly Crc32 _crc = new();
    private readonly byte[] _first = new byte[ParallelGzipStream.DefaultChunkSize];
    private int _kept;

    public long Written { get; private set; }

    public uint Crc => _crc.GetCurrentHashAsUInt32();

    public ReadOnlyMemory<byte> FirstChunk => _first.AsMemory(0, _kept);

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => Written;

    public override long Position
    {
        get => Written;
        set => throw new NotSupportedException();
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        _crc.Append(buffer);
        var keep = Math.Min(buffer.Length, _first.Length - _kept);
        buffer[..keep].CopyTo(_first.AsSpan(_kept));
        _kept += keep;
        Written += buffer.Length;
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        Write(buffer.AsSpan(offset, count));
        return Task.CompletedTask;
    }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
