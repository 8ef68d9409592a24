using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using Sdk.Containers.Building;
using Sdk.Containers.Digests;
using Sdk.Containers.Images;
using Sdk.Containers.Layers;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Tests;

/// <summary>Small images and hand-made archives for tests.</summary>
public static class TestImages
{
    public static async Task<Image> BuildAsync(TempDirectory work, BlobStore store, ImageFormat format = ImageFormat.Oci, string content = "hello")
    {
        work.WriteFile("src/bin/app", "#!/bin/sh\necho " + content, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        work.WriteFile("src/etc/config.txt", content);
        var plan = LayerPlan.FromDirectory(work.Combine("src"), "/", "test files");
        var layer = await new LayerWriter(store).WriteAsync(plan, new LayerWriterOptions(), CancellationToken.None);
        var builder = ImageBuilder.FromScratch(new Platform { Os = "linux", Architecture = "amd64" }, format);
        builder.Created = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);
        builder.AddLayer(layer, "test");
        builder.SetEntrypoint(["/bin/app"]);
        return builder.Build();
    }

    /// <summary>An uncompressed layer tar with the given files (name → content), as a legacy `docker save` stores it.</summary>
    public static byte[] LayerTar(params (string Name, string Content)[] files)
    {
        using var output = new MemoryStream();
        using (var tar = new TarWriter(output, TarEntryFormat.Ustar, leaveOpen: true))
        {
            foreach (var (name, content) in files)
            {
                var entry = new UstarTarEntry(TarEntryType.RegularFile, name)
                {
                    DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)),
                    ModificationTime = DateTimeOffset.FromUnixTimeSeconds(1),
                };
                tar.WriteEntry(entry);
            }
        }

        return output.ToArray();
    }

    public static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(data);
        }

        return output.ToArray();
    }

    public static string ConfigFor(params byte[][] uncompressedLayers)
        => """{"architecture":"amd64","os":"linux","config":{"Env":["A=1"]},"rootfs":{"type":"layers","diff_ids":["""
            + string.Join(',', uncompressedLayers.Select(l => $"\"{Digest.Compute(l)}\""))
            + "]}}";

    /// <summary>Writes a docker-archive by hand: manifest.json, a config and layer files, with nothing checked.</summary>
    public static string DockerArchive(string path, string config, IReadOnlyList<byte[]> layers, string? manifestJson = null)
    {
        var configName = Digest.Compute(Encoding.UTF8.GetBytes(config)).Hex + ".json";
        var layerNames = layers.Select((_, i) => $"layer{i}/layer.tar").ToArray();
        manifestJson ??= $$"""[{"Config":"{{configName}}","RepoTags":["base:1"],"Layers":[{{string.Join(',', layerNames.Select(n => $"\"{n}\""))}}]}]""";
        var files = new List<(string, byte[])> { (configName, Encoding.UTF8.GetBytes(config)), ("manifest.json", Encoding.UTF8.GetBytes(manifestJson)) };
        files.AddRange(layers.Select((l, i) => (layerNames[i], l)));
        return Tar(path, files);
    }

    public static string Tar(string path, IEnumerable<(string Name, byte[] Content)> files)
    {
        using var stream = File.Create(path);
        using var tar = new TarWriter(stream, TarEntryFormat.Pax);
        foreach (var (name, content) in files)
        {
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content) });
        }

        return path;
    }
}
