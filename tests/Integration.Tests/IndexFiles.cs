using System.Text.Json;

namespace Sdk.Containers.Integration;

/// <summary>Reads a file of each platform's image of an index in a registry (copied by skopeo, an independent reader).</summary>
internal static class IndexFiles
{
    /// <summary>The index.json of an oci-archive (or docker-archive) file.</summary>
    public static JsonElement IndexJsonOfArchive(string archive)
    {
        using var file = File.OpenRead(archive);
        using var tar = new System.Formats.Tar.TarReader(file);
        while (tar.GetNextEntry() is { } entry)
        {
            if (entry.Name == "index.json")
            {
                using var json = JsonDocument.Parse(entry.DataStream!);
                return json.RootElement.Clone();
            }
        }

        throw new InvalidDataException($"{archive} has no index.json");
    }

    /// <summary>The ELF machine (e_machine) of <paramref name="path"/> in the last layer of each platform's image, by architecture.</summary>
    public static Dictionary<string, int> ElfMachines(string reference, string path)
    {
        using var work = new TempDirectory();
        var layout = work.Combine("layout");
        TestEnvironment.Run("/usr/bin/skopeo", ["copy", "--quiet", "--all", "--src-tls-verify=false", $"docker://{reference}", $"oci:{layout}:index"]).AssertSuccess();
        var machines = new Dictionary<string, int>();
        string Blob(string digest) => Path.Combine(layout, "blobs", "sha256", digest["sha256:".Length..]);
        using var outer = JsonDocument.Parse(File.ReadAllText(Path.Combine(layout, "index.json")));
        using var index = JsonDocument.Parse(File.ReadAllText(Blob(outer.RootElement.GetProperty("manifests")[0].GetProperty("digest").GetString()!)));
        foreach (var entry in index.RootElement.GetProperty("manifests").EnumerateArray())
        {
            var architecture = entry.GetProperty("platform").GetProperty("architecture").GetString()!;
            using var manifest = JsonDocument.Parse(File.ReadAllText(Blob(entry.GetProperty("digest").GetString()!)));
            var appLayer = manifest.RootElement.GetProperty("layers").EnumerateArray().Last().GetProperty("digest").GetString()!;
            using var tar = new System.Formats.Tar.TarReader(new System.IO.Compression.GZipStream(File.OpenRead(Blob(appLayer)), System.IO.Compression.CompressionMode.Decompress));
            while (tar.GetNextEntry() is { } file)
            {
                if (file.Name == path)
                {
                    // e_machine, two little-endian bytes at offset 18 of the ELF header.
                    var header = new byte[20];
                    file.DataStream!.ReadExactly(header);
                    Assert.Equal("\u007fELF", System.Text.Encoding.ASCII.GetString(header, 0, 4));
                    machines[architecture] = header[18] | (header[19] << 8);
                }
            }
        }

        return machines;
    }
}
