using System.Buffers;

namespace Sdk.Containers.IO;

/// <summary>
/// Copies file content leaving runs of zeros as holes: a 9 GiB model file that is mostly zeros (sparse on disk, or
/// zero-padded) takes only its data's space when copied into a root or unpacked from a layer, as `cp --sparse` does.
/// The content read back is the same either way.
/// </summary>
internal static class SparseCopy
{
    private const int BlockSize = 64 * 1024;

    /// <summary>Copies <paramref name="source"/> to the start of <paramref name="destination"/> (a new, empty file).</summary>
    /// <param name="written">Called with the bytes really written so far, every 8 MiB (for free-space checks).</param>
    /// <returns>The length of the content.</returns>
    public static async Task<long> CopyAsync(Stream source, FileStream destination, Action<long>? written, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BlockSize);
        try
        {
            long total = 0;
            long data = 0;
            long reported = 0;
            while (true)
            {
                var read = await source.ReadAtLeastAsync(buffer.AsMemory(0, BlockSize), BlockSize, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                if (buffer.AsSpan(0, read).IndexOfAnyExcept((byte)0) < 0)
                {
                    destination.Seek(read, SeekOrigin.Current);
                }
                else
                {
                    await destination.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                    data += read;
                    if (written is not null && data - reported >= 8L << 20)
                    {
                        reported = data;
                        written(data);
                    }
                }

                total += read;
            }

            // A file that ends in a hole gets its length here.
            destination.SetLength(total);
            return total;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>A file copied to a new path, holes for zero runs.</summary>
    public static void CopyFile(string source, string destination)
    {
        using var input = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        using var output = new FileStream(destination, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1);
        var buffer = ArrayPool<byte>.Shared.Rent(BlockSize);
        try
        {
            long total = 0;
            int read;
            while ((read = input.ReadAtLeast(buffer.AsSpan(0, BlockSize), BlockSize, throwOnEndOfStream: false)) > 0)
            {
                if (buffer.AsSpan(0, read).IndexOfAnyExcept((byte)0) < 0)
                {
                    output.Seek(read, SeekOrigin.Current);
                }
                else
                {
                    output.Write(buffer, 0, read);
                }

                total += read;
            }

            output.SetLength(total);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
