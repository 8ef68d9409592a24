using System.Security.Cryptography;

namespace Sdk.Containers.Digests;

/// <summary>
/// Passes bytes through to an inner stream (or just swallows them) while computing their sha256 and length,
/// so that a digest costs no extra pass over the data.
/// </summary>
public sealed class HashingStream : Stream
{
    private readonly Stream? _inner;
    private readonly bool _leaveOpen;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly bool _reading;
    private Digest? _digest;

    private HashingStream(Stream? inner, bool reading, bool leaveOpen)
    {
        _inner = inner;
        _reading = reading;
        _leaveOpen = leaveOpen;
    }

    /// <summary>Hashes every byte written, then forwards it to <paramref name="inner"/> (or nowhere when null).</summary>
    public static HashingStream ForWriting(Stream? inner, bool leaveOpen = false) => new(inner, reading: false, leaveOpen);

    /// <summary>Hashes every byte read from <paramref name="inner"/>.</summary>
    public static HashingStream ForReading(Stream inner, bool leaveOpen = false) => new(inner, reading: true, leaveOpen);

    public long BytesHashed { get; private set; }

    /// <summary>The digest of everything that passed; the stream accepts no more bytes afterwards.</summary>
    public Digest GetDigest()
    {
        _digest ??= Digest.FromSha256Hash(_hash.GetHashAndReset());
        return _digest.Value;
    }

    public override bool CanRead => _reading;

    public override bool CanSeek => false;

    public override bool CanWrite => !_reading;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => BytesHashed;
        set => throw new NotSupportedException();
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        Append(buffer);
        _inner?.Write(buffer);
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Append(buffer.Span);
        if (_inner is not null)
        {
            await _inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var read = Inner.Read(buffer);
        Append(buffer[..read]);
        return read;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await Inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        Append(buffer.Span[..read]);
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>Reads whatever is left so the digest covers the whole inner stream.</summary>
    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        var buffer = new byte[81920];
        while (await ReadAsync(buffer, cancellationToken).ConfigureAwait(false) > 0)
        {
        }
    }

    public override void Flush() => _inner?.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken)
        => _inner?.FlushAsync(cancellationToken) ?? Task.CompletedTask;

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _hash.Dispose();
            if (!_leaveOpen)
            {
                _inner?.Dispose();
            }
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        _hash.Dispose();
        if (!_leaveOpen && _inner is not null)
        {
            await _inner.DisposeAsync().ConfigureAwait(false);
        }

        GC.SuppressFinalize(this);
    }

    private Stream Inner => _inner ?? throw new InvalidOperationException("No inner stream to read from.");

    private void Append(ReadOnlySpan<byte> data)
    {
        if (_digest is not null)
        {
            throw new InvalidOperationException("The digest was already taken.");
        }

        _hash.AppendData(data);
        BytesHashed += data.Length;
    }
}
