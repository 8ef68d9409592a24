using System.Text.Json;

namespace Sdk.Containers.Integration;

/// <summary>
/// Inputs of real-world size that ustar and ratio rules do not take: a 9 GiB file (sparse, so the test disk stays
/// small) through the publish path and a Dockerfile COPY, read back by Python's tarfile, skopeo and umoci.
/// </summary>
[Collection(EnvironmentCollection.Name)]
public sealed class BigInputTests(TestEnvironment env)
{
    private const long NineGiB = 9L << 30;

    /// <summary>
    /// Reads an image archive (docker-archive or oci-archive) with Python alone: for the layer holding MEMBER, the
    /// member's size and PAX records, and whether the sha256 of the layer's decompressed tar is its config diff_id.
    /// </summary>
    private const string TarCheck = """
        import gzip, hashlib, json, sys, tarfile
        archive, wanted = sys.argv[1], sys.argv[2]
        outer = tarfile.open(archive)
        def read(name): return outer.extractfile(name).read()
        names = outer.getnames()
        if "manifest.json" in names:
            entry = json.loads(read("manifest.json"))[0]
            config, layers = json.loads(read(entry["Config"])), entry["Layers"]
        else:
            index = json.loads(read("index.json"))
            blob = lambda d: "blobs/sha256/" + d.split(":")[1]
            manifest = json.loads(read(blob(index["manifests"][0]["digest"])))
            config, layers = json.loads(read(blob(manifest["config"]["digest"]))), [blob(l["digest"]) for l in manifest["layers"]]
        class Hashing:
            def __init__(self, f): self.f, self.h = f, hashlib.sha256()
            def read(self, n=-1):
                data = self.f.read(n); self.h.update(data); return data
        for i, layer in enumerate(layers):
            raw = outer.extractfile(layer)
            gzipped = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            stream = Hashing(gzip.GzipFile(fileobj=raw) if gzipped else raw)
            found = None
            for member in tarfile.open(fileobj=stream, mode="r|"):
                if member.name == wanted:
                    found = {"size": member.size, "pax": member.pax_headers}
            while stream.read(1 << 20): pass
            if found:
                found["diffIdMatches"] = "sha256:" + stream.h.hexdigest() == config["rootfs"]["diff_ids"][i]
                print(json.dumps(found)); sys.exit(0)
        print(json.dumps({"error": wanted + " is in no layer"}))
        """;

    private static JsonElement Check(string archive, string member)
    {
        var run = TestEnvironment.Run("/usr/bin/python3", ["-c", TarCheck, archive, member], timeout: TimeSpan.FromMinutes(10)).AssertSuccess();
        return JsonDocument.Parse(run.StandardOutput.Trim()).RootElement.Clone();
    }

    /// <summary>A 9 GiB file that takes a few KB on disk: a header at the start, a marker at the end, holes between.</summary>
    private static void WriteSparseModel(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var file = File.Create(path);
        file.Write("MODEL-HEADER"u8);
        file.SetLength(NineGiB);
        file.Seek(-4, SeekOrigin.End);
        file.Write("TAIL"u8);
    }

    private static long Allocated(string path)
    {
        var stat = TestEnvironment.Run("stat", ["-c", "%b", path]).AssertSuccess();
        return long.Parse(stat.StandardOutput.Trim(), System.Globalization.CultureInfo.InvariantCulture) * 512;
    }

    [Fact]
    public void ANineGiBFileIsPublishedWithItsSizeInPaxReadByOthersAndVerifiedInFlatMemory()
    {
        env.Require();
        var project = env.CopySample("hello");
        WriteSparseModel(Path.Combine(project, "models", "weights.bin"));
        var csproj = Path.Combine(project, "hello.csproj");
        File.WriteAllText(csproj, File.ReadAllText(csproj).Replace("</Project>", """
              <ItemGroup>
                <ContainerLayer Include="models/weights.bin" Destination="/models/weights.bin" />
              </ItemGroup>
            </Project>
            """));
        var archive = Path.Combine(project, "out", "hello.tar");
        var (publish, peak) = env.PublishMeasuringMemory(project, [
            "-p:PublishContainer=true",
            $"-p:ContainerBaseImage=oci:{env.BaseLayout}:runtime",
            $"-p:ContainerArchiveOutputPath={archive}",
            "-p:ContainerImageTags=big",

            // A tarball alone gets plain layers; gzip is asked for, as any stored output gets it, because compressing
            // 9 GiB on every core is what could hold chunks in memory.
            "-p:ContainerLayerCompression=gzip",
        ]);
        publish.AssertSuccess();

        // The whole `dotnet publish` (MSBuild, the build and the container step, in one process) stays small: the
        // 9 GiB are streamed, never held.
        Assert.True(peak is > 0 and <= 300L << 20, $"dotnet publish peaked at {peak / 1048576.0:N0} MB");

        var check = Check(archive, "models/weights.bin");
        Assert.Equal(NineGiB, check.GetProperty("size").GetInt64());
        Assert.Equal(NineGiB.ToString(System.Globalization.CultureInfo.InvariantCulture), check.GetProperty("pax").GetProperty("size").GetString());
        Assert.True(check.GetProperty("diffIdMatches").GetBoolean(), "the diff_id is the sha256 of the decompressed tar, as Python computes it");

        TestEnvironment.Run("/usr/bin/skopeo", ["inspect", $"docker-archive:{archive}"]).AssertSuccess();
        using var work = new TempDirectory();
        TestEnvironment.Run("/usr/bin/skopeo", ["copy", "--quiet", $"docker-archive:{archive}", $"oci:{work.Combine("layout")}:big"]).AssertSuccess();
        TestEnvironment.Run("/usr/bin/umoci", ["stat", "--image", $"{work.Combine("layout")}:big"]).AssertSuccess();
        var verify = TestEnvironment.Cli(["verify", archive]).AssertSuccess();
        Assert.DoesNotContain("error", verify.Output, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void ANineGiBFileIsCopiedByADockerfileKeptSparseAndUnpackedSparse()
    {
        env.Require();
        using var work = new TempDirectory();
        var context = work.Combine("context");
        WriteSparseModel(Path.Combine(context, "weights.bin"));
        File.WriteAllText(Path.Combine(context, "Dockerfile"), "FROM scratch\nCOPY weights.bin /models/\n");
        var archive = work.Combine("image.tar");
        var files = work.Combine("files");
        TestEnvironment.Cli(["build", context, "--cache", work.Combine("cache"), "--progress=plain", "-o", $"type=oci,dest={archive}", "-o", $"type=local,dest={files}"]).AssertSuccess();

        var check = Check(archive, "models/weights.bin");
        Assert.Equal(NineGiB, check.GetProperty("size").GetInt64());
        Assert.True(check.GetProperty("diffIdMatches").GetBoolean());

        // Unpacked (type=local) with its holes: the content is all there, the disk holds only the data.
        var unpacked = Path.Combine(files, "models", "weights.bin");
        Assert.Equal(NineGiB, new FileInfo(unpacked).Length);
        Assert.True(Allocated(unpacked) < 16L << 20, $"{Allocated(unpacked):N0} bytes allocated");
        using (var file = File.OpenRead(unpacked))
        {
            var head = new byte[12];
            file.ReadExactly(head);
            Assert.Equal("MODEL-HEADER", System.Text.Encoding.ASCII.GetString(head));
            file.Seek(-4, SeekOrigin.End);
            file.ReadExactly(head, 0, 4);
            Assert.Equal("TAIL", System.Text.Encoding.ASCII.GetString(head, 0, 4));
        }

        TestEnvironment.Run("/usr/bin/skopeo", ["inspect", $"oci-archive:{archive}"]).AssertSuccess();
        TestEnvironment.Cli(["verify", $"oci-archive:{archive}"]).AssertSuccess();
    }

    [Fact]
    public void AHundredThousandFilesArePublishedInFlatMemory()
    {
        env.Require();
        var project = env.CopySample("hello");

        // Outside the project, where MSBuild's default globs do not list them (they would cost MSBuild, not us).
        using var data = new TempDirectory();
        for (var i = 0; i < 100_000; i++)
        {
            var directory = Path.Combine(data.Path, $"d{i / 1000:D3}");
            Directory.CreateDirectory(directory);
            File.WriteAllText(Path.Combine(directory, $"f{i:D6}.txt"), i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        var csproj = Path.Combine(project, "hello.csproj");
        File.WriteAllText(csproj, File.ReadAllText(csproj).Replace("</Project>", $"""
              <ItemGroup>
                <ContainerLayer Include="{data.Path}" Destination="/data" />
              </ItemGroup>
            </Project>
            """));
        var archive = Path.Combine(project, "out", "hello.tar");
        var (publish, peak) = env.PublishMeasuringMemory(project, [
            "-p:PublishContainer=true",
            $"-p:ContainerBaseImage=oci:{env.BaseLayout}:runtime",
            $"-p:ContainerArchiveOutputPath={archive}",
            "-p:ContainerImageTags=many",
        ]);
        publish.AssertSuccess();
        Assert.True(peak is > 0 and <= 300L << 20, $"dotnet publish peaked at {peak / 1048576.0:N0} MB");

        const string count = """
            import json, sys, tarfile
            outer = tarfile.open(sys.argv[1])
            entry = json.loads(outer.extractfile("manifest.json").read())[0]
            print(max(sum(1 for m in tarfile.open(fileobj=outer.extractfile(layer), mode="r|*") if m.isfile() and m.name.startswith("data/")) for layer in entry["Layers"]))
            """;
        var files = TestEnvironment.Run("/usr/bin/python3", ["-c", count, archive]).AssertSuccess();
        Assert.Equal("100000", files.StandardOutput.Trim());
    }
}
