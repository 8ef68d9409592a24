using System.Diagnostics;
using System.IO.Compression;
using Sdk.Containers.Digests;
using Sdk.Containers.Layers;

namespace Sdk.Containers.Tests;

public class ParallelGzipStreamTests
{
    private static byte[] SampleData(int size)
    {
        // Half text-like (compressible), half random (not), so chunks differ in how they compress.
        var random = new Random(42);
        var data = new byte[size];
        for (var i = 0; i < size; i++)
        {
            data[i] = i % 65536 < 32768 ? (byte)"the quick brown fox jumps over the lazy dog "[i % 44] : (byte)random.Next(256);
        }

        return data;
    }

    private static async Task<byte[]> CompressAsync(byte[] data, int workers, int chunkSize = 256 * 1024, int writeSize = 7_001)
    {
        using var output = new MemoryStream();
        await using (var gzip = new ParallelGzipStream(output, level: 6, workers, chunkSize, leaveOpen: true))
        {
            for (var offset = 0; offset < data.Length; offset += writeSize)
            {
                await gzip.WriteAsync(data.AsMemory(offset, Math.Min(writeSize, data.Length - offset)));
            }
        }

        return output.ToArray();
    }

    private static byte[] Decompress(byte[] gzip)
    {
        using var output = new MemoryStream();
        using (var stream = new GZipStream(new MemoryStream(gzip), CompressionMode.Decompress))
        {
            stream.CopyTo(output);
        }

        return output.ToArray();
    }

    [Theory]
    [InlineData(3 * 1024 * 1024 + 12345)]
    [InlineData(1024 * 1024)]
    [InlineData(100)]
    [InlineData(0)]
    public async Task TheOutputIsTheSameWithOneTwoOrEightWorkersAndDecompressesToTheInput(int size)
    {
        var data = SampleData(size);
        var one = await CompressAsync(data, workers: 1);
        var two = await CompressAsync(data, workers: 2);
        var eight = await CompressAsync(data, workers: 8);

        Assert.Equal(Digest.Compute(one), Digest.Compute(two));
        Assert.Equal(Digest.Compute(one), Digest.Compute(eight));
        Assert.Equal(data, Decompress(eight));
    }

    [Fact]
    public async Task GzipItselfAcceptsTheOutput()
    {
        using var dir = new TempDirectory();
        var path = dir.Combine("data.gz");
        var data = SampleData(2 * 1024 * 1024 + 999);
        await File.WriteAllBytesAsync(path, await CompressAsync(data, workers: 4));

        using var test = Process.Start(new ProcessStartInfo("gzip", ["-t", path]) { RedirectStandardError = true })!;
        var error = await test.StandardError.ReadToEndAsync();
        await test.WaitForExitAsync();
        Assert.True(test.ExitCode == 0, $"gzip -t failed: {error}");

        using var cat = Process.Start(new ProcessStartInfo("gzip", ["-dc", path]) { RedirectStandardOutput = true })!;
        using var copy = new MemoryStream();
        await cat.StandardOutput.BaseStream.CopyToAsync(copy);
        await cat.WaitForExitAsync();
        Assert.Equal(data, copy.ToArray());
    }

    [Fact]
    public async Task ALayerWrittenWithOneOrManyWorkersHasTheSameDigest()
    {
        using var work = new TempDirectory();
        var data = SampleData(3 * 1024 * 1024);
        work.WriteFile("app/big.bin", string.Empty);
        await File.WriteAllBytesAsync(work.Combine("app", "big.bin"), data);
        var plan = LayerPlan.FromDirectory(work.Combine("app"), "/app", "t");

        var single = await new LayerWriter(new Storage.BlobStore(work.Combine("c1"))).WriteAsync(plan, new LayerWriterOptions { CompressionWorkers = 1 }, CancellationToken.None);
        var many = await new LayerWriter(new Storage.BlobStore(work.Combine("c8"))).WriteAsync(plan, new LayerWriterOptions { CompressionWorkers = 8 }, CancellationToken.None);
        Assert.Equal(single.Descriptor.Digest, many.Descriptor.Digest);
        Assert.Equal(single.DiffId, many.DiffId);
    }
}
