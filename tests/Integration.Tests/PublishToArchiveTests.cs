using System.Text.Json;
using Sdk.Containers.Archives;
using Sdk.Containers.Images;
using Sdk.Containers.Sources;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Integration;

/// <summary>
/// `dotnet publish -p:PublishContainer=true` on samples/hello, with the package as a user would reference it, and the
/// result checked by the real Docker engine, skopeo and umoci.
/// </summary>
[Collection(EnvironmentCollection.Name)]
public sealed class PublishToArchiveTests(TestEnvironment env)
{
    private const string ExpectedLine = "Hello from Sdk.Containers!";

    private async Task<LoadedImage> ReadOurArchiveAsync(string path)
        => (await new ImageLoader(new BlobStore(env.Cache)).LoadAllAsync(ImageSource.Parse("docker-archive:" + path), CancellationToken.None)).Single();

    private void AssertDockerRunsIt(string archive, string tag, LoadedImage ours)
    {
        env.Docker("load", "-i", archive).AssertSuccess();
        try
        {
            var run = env.Docker("run", "--rm", "--network", "none", tag, "from-docker").AssertSuccess();
            Assert.Contains(ExpectedLine, run.Output);
            Assert.Contains("from-docker", run.Output);

            var inspect = env.Docker("image", "inspect", tag, "--format", "{{json .}}").AssertSuccess();
            using var json = JsonDocument.Parse(inspect.StandardOutput);
            Assert.Equal(ours.Image.ConfigDigest.ToString(), json.RootElement.GetProperty("Id").GetString());
            var layers = json.RootElement.GetProperty("RootFS").GetProperty("Layers").EnumerateArray().Select(l => l.GetString()).ToArray();
            Assert.Equal(ours.Image.Config.RootFs.DiffIds.Select(d => d.ToString()), layers);
        }
        finally
        {
            env.Docker("rmi", "-f", tag);
        }
    }

    [Fact]
    public async Task FrameworkDependentAppOnTheRuntimeBaseLoadsAndRunsInDocker()
    {
        env.Require();
        var project = env.CopySample("hello");
        var tag = $"fdd-{Guid.NewGuid():N}"[..16];
        var archive = Path.Combine(project, "out", "hello.tar");
        var binlog = Path.Combine(project, "publish.binlog");
        env.Publish(project, [
            "-p:PublishContainer=true",
            $"-p:ContainerBaseImage=oci:{env.BaseLayout}:runtime",
            $"-p:ContainerArchiveOutputPath={archive}",
            $"-p:ContainerImageTags={tag}",
            $"-bl:{binlog}",
        ]).AssertSuccess();

        // Our targets replaced the SDK's: our task ran, the SDK's image task did not.
        var tasks = Binlogs.TaskNames(binlog);
        Assert.Contains("BuildContainerImage", tasks);
        Assert.DoesNotContain("CreateNewImage", tasks);
        Assert.DoesNotContain("ComputeDotnetBaseImageAndTag", tasks);

        var ours = await ReadOurArchiveAsync(archive);
        Assert.Equal(["dotnet", "/app/hello.dll"], ours.Image.Config.Config!.Entrypoint!);
        Assert.Equal("1654", ours.Image.Config.Config.User);
        AssertDockerRunsIt(archive, $"hello:{tag}", ours);
    }

    [Fact]
    public async Task SelfContainedAppOnRuntimeDepsFromADockerArchiveLoadsAndRunsInDocker()
    {
        env.Require();
        var project = env.CopySample("hello");
        var tag = $"sc-{Guid.NewGuid():N}"[..16];
        var archive = Path.Combine(project, "out") + "/";
        env.Publish(project, [
            "-r", "linux-x64", "--self-contained",
            "-t:PublishContainer",
            $"-p:ContainerBaseImage=docker-archive:{Path.Combine(env.BaseImages, "runtime-deps.tar")}",
            $"-p:ContainerArchiveOutputPath={archive}",
            $"-p:ContainerImageTag={tag}",
        ]).AssertSuccess();

        var path = Path.Combine(archive, "hello.tar");
        var ours = await ReadOurArchiveAsync(path);
        Assert.Equal(["/app/hello"], ours.Image.Config.Config!.Entrypoint!);
        AssertDockerRunsIt(path, $"hello:{tag}", ours);
    }

    [Fact]
    public async Task SkopeoAndUmociReadOurArchiveAndLayoutAndTheJsonValidates()
    {
        env.Require();
        var project = env.CopySample("hello");
        var archive = Path.Combine(project, "out", "hello.tar");
        env.Publish(project, [
            "-p:PublishContainer=true",
            $"-p:ContainerBaseImage=oci:{env.BaseLayout}:aspnet",
            $"-p:ContainerArchiveOutputPath={archive}",
            "-p:ContainerImageFormat=OCI",
        ]).AssertSuccess();
        var ours = await ReadOurArchiveAsync(archive);

        var dockerArchive = TestEnvironment.Run("/usr/bin/skopeo", ["inspect", $"docker-archive:{archive}"]).AssertSuccess();
        using (var json = JsonDocument.Parse(dockerArchive.StandardOutput))
        {
            Assert.Equal(ours.Image.Config.RootFs.DiffIds.Select(d => d.ToString()), json.RootElement.GetProperty("Layers").EnumerateArray().Select(l => l.GetString()));
        }

        var ociArchive = TestEnvironment.Run("/usr/bin/skopeo", ["inspect", $"oci-archive:{archive}"]).AssertSuccess();
        using (var json = JsonDocument.Parse(ociArchive.StandardOutput))
        {
            Assert.Equal(ours.Image.ManifestDigest.ToString(), json.RootElement.GetProperty("Digest").GetString());
        }

        var layout = Path.Combine(project, "out", "layout");
        await OciLayoutWriter.WriteAsync(ours.Image, Sdk.Containers.References.ImageReference.Parse("hello:latest"), layout, CancellationToken.None);
        var ociLayout = TestEnvironment.Run("/usr/bin/skopeo", ["inspect", $"oci:{layout}:latest"]).AssertSuccess();
        using (var json = JsonDocument.Parse(ociLayout.StandardOutput))
        {
            Assert.Equal(ours.Image.ManifestDigest.ToString(), json.RootElement.GetProperty("Digest").GetString());
        }

        TestEnvironment.Run("/usr/bin/umoci", ["stat", "--image", $"{layout}:latest"]).AssertSuccess();
        var copied = Path.Combine(project, "out", "copied");
        TestEnvironment.Run("/usr/bin/skopeo", ["copy", $"oci-archive:{archive}", $"oci:{copied}:x"]).AssertSuccess();
        TestEnvironment.Run("/usr/bin/umoci", ["stat", "--image", $"{copied}:x"]).AssertSuccess();

        await OciSchemas.AssertValidConfigAsync(System.Text.Encoding.UTF8.GetString(ours.Image.ConfigBytes));
        await OciSchemas.AssertValidManifestAsync(System.Text.Encoding.UTF8.GetString(ours.Image.ManifestBytes));
        await OciSchemas.AssertValidIndexAsync(await File.ReadAllTextAsync(Path.Combine(layout, "index.json")));
        await OciSchemas.AssertValidLayoutAsync(await File.ReadAllTextAsync(Path.Combine(layout, "oci-layout")));

        var verify = TestEnvironment.Cli(["verify", archive, "--cache", env.Cache]).AssertSuccess();
        Assert.Contains($"manifest {ours.Image.ManifestDigest}", verify.Output);
    }

    [Fact]
    public async Task PublishingTwiceWithSourceDateEpochGivesIdenticalTarballsAndFileTimesDoNotMatter()
    {
        env.Require();
        var project = env.CopySample("hello");
        var epoch = new Dictionary<string, string> { ["SOURCE_DATE_EPOCH"] = "1700000000" };
        string[] common = ["-p:PublishContainer=true", $"-p:ContainerBaseImage=oci:{env.BaseLayout}:runtime"];
        var first = Path.Combine(project, "out", "first.tar");
        var second = Path.Combine(project, "out", "second.tar");
        env.Publish(project, [.. common, $"-p:ContainerArchiveOutputPath={first}"], epoch).AssertSuccess();
        env.Publish(project, [.. common, $"-p:ContainerArchiveOutputPath={second}"], epoch).AssertSuccess();
        Assert.Equal(await File.ReadAllBytesAsync(first), await File.ReadAllBytesAsync(second));

        var publishDir = Path.Combine(project, "bin", "Release", "net10.0", "publish");
        foreach (var file in Directory.EnumerateFiles(publishDir, "*", SearchOption.AllDirectories))
        {
            File.SetLastWriteTimeUtc(file, DateTime.UtcNow.AddHours(5));
        }

        var touched = Path.Combine(project, "out", "touched.tar");
        env.Publish(project, ["--no-build", .. common, $"-p:ContainerArchiveOutputPath={touched}"], epoch).AssertSuccess();
        var before = await ReadOurArchiveAsync(first);
        var after = await ReadOurArchiveAsync(touched);
        Assert.Equal(before.Image.Layers.Select(l => l.Descriptor.Digest), after.Image.Layers.Select(l => l.Descriptor.Digest));
    }

    [Fact]
    public async Task WithNoEngineAnsweringTheImageIsWrittenBesideThePublishFolderWithAWarning()
    {
        env.Require();
        var project = env.CopySample("hello");
        var result = env.Publish(project, ["-p:PublishContainer=true", $"-p:ContainerBaseImage=oci:{env.BaseLayout}:runtime"],
            // Podman is installed for the tests too: CONTAINER_HOST sends it to a dead socket as DOCKER_HOST does Docker.
            new Dictionary<string, string> { ["DOCKER_HOST"] = "unix:///nonexistent/docker.sock", ["CONTAINER_HOST"] = "unix:///nonexistent/podman.sock" }).AssertSuccess();

        var archive = Path.Combine(project, "bin", "Release", "net10.0", "container", "hello.tar");
        Assert.Contains($"warning CONTAINER1031: No Docker or Podman engine answered, so the image was written to {archive} instead", result.Output);
        var ours = await ReadOurArchiveAsync(archive);
        Assert.Equal(["dotnet", "/app/hello.dll"], ours.Image.Config.Config!.Entrypoint!);
        Assert.False(Directory.EnumerateFiles(Path.Combine(project, "bin", "Release", "net10.0", "publish"), "*.tar").Any());
    }

    [Fact]
    public async Task ANoChangeRepublishDoesNoImageWorkAndSaysSo()
    {
        env.Require();
        var project = env.CopySample("hello");
        var archive = Path.Combine(project, "out", "hello.tar");
        string[] args = ["-p:PublishContainer=true", $"-p:ContainerBaseImage=docker-archive:{Path.Combine(env.BaseImages, "runtime.tar")}", $"-p:ContainerArchiveOutputPath={archive}"];
        using var cache = new TempDirectory();
        string[] withCache = [.. args, $"-p:ContainerCacheDirectory={cache.Path}"];
        var first = env.Publish(project, withCache).AssertSuccess();
        Assert.DoesNotContain("no file read", first.Output);
        var before = await ReadOurArchiveAsync(archive);
        var written = File.GetLastWriteTimeUtc(archive);

        var second = env.Publish(project, withCache).AssertSuccess();
        Assert.Contains("verified in an earlier build and unchanged since", second.Output);
        Assert.Contains("(unchanged since the last build: no file read, nothing hashed or compressed)", second.Output);
        Assert.DoesNotContain("(new)", second.Output);
        Assert.DoesNotContain("(rebuilt, same content as before)", second.Output);
        Assert.Contains("is up to date", second.Output);
        Assert.Equal(written, File.GetLastWriteTimeUtc(archive));
        Assert.Equal(before.Image.ManifestDigest, (await ReadOurArchiveAsync(archive)).Image.ManifestDigest);
    }

    public static TheoryData<string, string, string> BadBases => new()
    {
        { "altered-layer", "CONTAINER1012", "does not match its diff_id" },
        { "truncated", "CONTAINER1011", "not a readable tar file" },
        { "missing-file", "CONTAINER1011", "has no file 'layer9/layer.tar', but manifest.json names it" },
        { "dotdot-entry", "CONTAINER1013", "contains the entry '../evil'" },
    };

    [Theory]
    [MemberData(nameof(BadBases))]
    public void ABadBaseArchiveFailsThePublishWithOneClearErrorAndNoOutput(string kind, string code, string message)
    {
        env.Require();
        var project = env.CopySample("hello");
        var bad = Path.Combine(project, "bad-base.tar");
        var layer = TestImages.LayerTar(("etc/hostname", "base"));
        switch (kind)
        {
            case "altered-layer":
                var altered = (byte[])layer.Clone();
                altered[512] ^= 1;
                TestImages.DockerArchive(bad, TestImages.ConfigFor(layer), [altered]);
                break;
            case "truncated":
                File.WriteAllBytes(bad, File.ReadAllBytes(Path.Combine(env.BaseImages, "runtime-deps.tar"))[..1_000_000]);
                break;
            case "missing-file":
                TestImages.DockerArchive(bad, TestImages.ConfigFor(layer), [layer], """[{"Config":"none.json","Layers":["layer9/layer.tar"]}]""");
                var withConfig = TestImages.Tar(bad + ".2", [("none.json", System.Text.Encoding.UTF8.GetBytes(TestImages.ConfigFor(layer))), ("manifest.json", """[{"Config":"none.json","Layers":["layer9/layer.tar"]}]"""u8.ToArray())]);
                File.Move(withConfig, bad, overwrite: true);
                break;
            case "dotdot-entry":
                var escape = TestImages.LayerTar(("../evil", "x"));
                TestImages.DockerArchive(bad, TestImages.ConfigFor(escape), [escape]);
                break;
        }

        var archive = Path.Combine(project, "out", "hello.tar");
        var result = env.Publish(project, ["-p:PublishContainer=true", $"-p:ContainerBaseImage=docker-archive:{bad}", $"-p:ContainerArchiveOutputPath={archive}"]);

        Assert.NotEqual(0, result.ExitCode);
        var errors = result.Output.Split('\n').Where(l => l.Contains($"error {code}", StringComparison.Ordinal)).ToArray();
        Assert.True(errors.Length > 0, $"No error {code} in:\n{result.Output}");
        Assert.Contains(message, errors[0]);
        Assert.DoesNotContain("   at ", result.Output);
        Assert.DoesNotContain("Exception", errors[0]);
        Assert.False(File.Exists(archive));
        Assert.False(Directory.Exists(Path.Combine(project, "out")) && Directory.EnumerateFiles(Path.Combine(project, "out")).Any(), "Something was left in the output folder.");
    }

    [Fact]
    public void LayersKeepTheBasesDirectoriesSoTheAppUserCanStillWriteToTmpAndHome()
    {
        env.Require();
        var project = env.CopySample("hello");
        Directory.CreateDirectory(Path.Combine(project, "cfg"));
        File.WriteAllText(Path.Combine(project, "cfg", "c.txt"), "config");
        var csproj = Path.Combine(project, "hello.csproj");
        File.WriteAllText(csproj, File.ReadAllText(csproj).Replace("</Project>", """
              <ItemGroup>
                <ContainerLayer Include="cfg/c.txt" Destination="/tmp/cfg/c.txt" />
              </ItemGroup>
            </Project>
            """));
        var tag = $"basedirs-{Guid.NewGuid():N}"[..20];
        var archive = Path.Combine(project, "out", "hello.tar");
        env.Publish(project, [
            "-p:PublishContainer=true",
            $"-p:ContainerBaseImage=oci:{env.BaseLayout}:runtime",
            "-p:ContainerWorkingDirectory=/home/app/work",
            $"-p:ContainerArchiveOutputPath={archive}",
            $"-p:ContainerImageTags={tag}",
        ]).AssertSuccess();
        env.Docker("load", "-i", archive).AssertSuccess();
        try
        {
            // As the base's app user (uid 1654, the default ContainerUser): /tmp is still 1777 and /home/app still theirs.
            var run = env.Docker("run", "--rm", "--network", "none", "--entrypoint", "sh", $"hello:{tag}", "-c",
                "id -u && touch /tmp/probe && touch /home/app/probe && cat /tmp/cfg/c.txt && ls -ld /tmp /home/app").AssertSuccess();
            Assert.StartsWith("1654", run.StandardOutput);
            Assert.Contains("config", run.StandardOutput);
            Assert.Matches(@"drwxrwxrwt\s.*\s/tmp", run.StandardOutput);
            Assert.Matches(@"drwxr-xr-x\s+\d+\s+app\s+app\s.*\s/home/app", run.StandardOutput);
        }
        finally
        {
            env.Docker("rmi", "-f", $"hello:{tag}");
        }
    }

    [Fact]
    public async Task AppFilesOwnedByTheBasesAppUserAndAWritableWorkingDirectoryLetTheDefaultUserWriteThere()
    {
        env.Require();
        var project = env.CopySample("hello");
        var tag = $"owner-{Guid.NewGuid():N}"[..18];
        var archive = Path.Combine(project, "out", "hello.tar");
        env.Publish(project, [
            "-p:PublishContainer=true",
            $"-p:ContainerBaseImage=oci:{env.BaseLayout}:runtime",
            "-p:ContainerAppFilesOwner=app",
            "-p:ContainerWorkingDirectoryWritable=true",
            $"-p:ContainerArchiveOutputPath={archive}",
            $"-p:ContainerImageTags={tag}",
        ]).AssertSuccess();

        // The app layer's tar headers: the app's files are app's (1654, by the base's /etc/passwd), and so is /app,
        // given to the user the app runs as (the base's APP_UID, 1654).
        var ours = await ReadOurArchiveAsync(archive);
        var headers = new Dictionary<string, (int Uid, int Gid)>(StringComparer.Ordinal);
        await using (var tar = Layers.LayerReader.Open(ours.Image.Layers[^1].OpenBlob(), new Layers.LayerReadOptions { Description = "the app layer" }))
        {
            while (await tar.NextAsync(CancellationToken.None) is { } entry)
            {
                headers[entry.Name.TrimEnd('/')] = (entry.Uid, entry.Gid);
            }
        }

        Assert.Equal((1654, 1654), headers["app"]);
        Assert.Equal((1654, 1654), headers["app/hello.dll"]);
        Assert.All(headers.Where(h => h.Key.StartsWith("app/", StringComparison.Ordinal)), h => Assert.Equal((1654, 1654), h.Value));

        env.Docker("load", "-i", archive).AssertSuccess();
        try
        {
            // As the default user (uid 1654, ContainerUser from APP_UID): a new file in the working directory.
            var run = env.Docker("run", "--rm", "--network", "none", "--entrypoint", "sh", $"hello:{tag}", "-c",
                "id -u && touch /app/probe && ls -lnd /app /app/hello.dll /app/probe").AssertSuccess();
            Assert.StartsWith("1654", run.StandardOutput);
            Assert.Matches(@"drwxr-xr-x\s+\d+\s+1654\s+1654\s.*\s/app\n", run.StandardOutput);
            Assert.Matches(@"-\S+\s+\d+\s+1654\s+1654\s.*\s/app/hello\.dll", run.StandardOutput);
            Assert.Matches(@"\s1654\s+1654\s.*\s/app/probe", run.StandardOutput);

            var hello = env.Docker("run", "--rm", "--network", "none", $"hello:{tag}").AssertSuccess();
            Assert.Contains(ExpectedLine, hello.Output);
        }
        finally
        {
            env.Docker("rmi", "-f", $"hello:{tag}");
        }
    }
}
