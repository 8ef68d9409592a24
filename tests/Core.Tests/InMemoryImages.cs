using System.Formats.Tar;
using System.IO.Compression;
using Sdk.Containers.Building;
using Sdk.Containers.Digests;
using Sdk.Containers.Images;
using Sdk.Containers.Layers;

namespace Sdk.Containers.Tests;

/// <summary>
/// Images and layers that live in memory, as go-containerregistry's random and empty packages make them: a unit test
/// of targets, builders or formats needs no blob store and no disk for its inputs.
/// </summary>
public static class InMemoryImages
{
    public static readonly Platform Amd64 = new() { Os = "linux", Architecture = "amd64" };

    /// <summary>A gzip layer of <paramref name="files"/> files of pseudo-random bytes, the same for the same seed.</summary>
    public static Layer RandomLayer(int seed, int files = 3, int bytesPerFile = 1024)
    {
        var random = new Random(seed);
        using var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            writer.WriteEntry(new PaxTarEntry(TarEntryType.Directory, "data/") { ModificationTime = DateTimeOffset.UnixEpoch, Mode = (UnixFileMode)0b111_101_101 });
            for (var i = 0; i < files; i++)
            {
                var content = new byte[bytesPerFile];
                random.NextBytes(content);
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, $"data/{seed}-{i}.bin")
                {
                    ModificationTime = DateTimeOffset.UnixEpoch,
                    Mode = (UnixFileMode)0b110_100_100,
                    DataStream = new MemoryStream(content),
                });
            }
        }

        var diffId = Digest.Compute(tar.ToArray());
        using var blob = new MemoryStream();
        using (var gzip = new GZipStream(blob, CompressionLevel.Fastest, leaveOpen: true))
        {
            tar.Position = 0;
            tar.CopyTo(gzip);
        }

        return Layer.InMemory(blob.ToArray(), LayerCompression.Gzip, diffId);
    }

    /// <summary>An image of <paramref name="layers"/> random layers (seeds seed, seed + 1, …).</summary>
    public static Image Random(int seed, int layers = 2, ImageFormat format = ImageFormat.Oci, Platform? platform = null)
    {
        var builder = ImageBuilder.FromScratch(platform ?? Amd64, format);
        builder.Created = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);
        for (var i = 0; i < layers; i++)
        {
            builder.AddLayer(RandomLayer(seed + i), $"random layer {seed + i}");
        }

        return builder.Build();
    }

    /// <summary>An image with no layers at all.</summary>
    public static Image Empty(ImageFormat format = ImageFormat.Oci) => ImageBuilder.FromScratch(Amd64, format).Build();
}
