using System.Text.RegularExpressions;
using System.Diagnostics;
using System.Formats.Tar;
using System.Security.Cryptography;
using Sdk.Containers.Archives;
using Sdk.Containers.Supply;
using Sdk.Containers.Unpacking;

namespace Sdk.Containers.Integration;

/// <summary>Dockerfile builds end to end: whiteouts in RUN layers, FROM scratch images that run, the step cache, RUN
/// here-documents and cache mounts, ADD of a URL, and the CLI's outputs read by docker, skopeo and umoci.</summary>
[Collection(EnvironmentCollection.Name)]
public sealed class DockerfileBuildTests(TestEnvironment env, DockerfileFixture fixture) : IClassFixture<DockerfileFixture>
{
    private static ProcessResult Cli(params string[] args) => TestEnvironment.Cli(args);

    private string Context(TempDirectory work, string dockerfile)
    {
        work.WriteFile("context/Dockerfile", dockerfile);
        return work.Combine("context");
    }

    private async Task<string> LoadAsync(Images.Image image, string name, TempDirectory work)
    {
        var archive = work.Combine($"{Guid.NewGuid():N}.tar");
        await DockerArchiveWriter.WriteAsync(image, [Sdk.Containers.References.ImageReference.Parse(name)], archive, DateTimeOffset.FromUnixTimeSeconds(1), CancellationToken.None);
        env.Docker("load", "-i", archive).AssertSuccess();
        return name;
    }

    [Fact]
    public async Task ARunThatDeletesABaseFileLeavesAWhiteoutAndTheFileIsGoneInTheContainer()
    {
        env.Require();
        using var work = new TempDirectory();
        var context = Context(work, "ARG BASE\nFROM ${BASE}\nRUN rm /etc/motd && rm -r /opt/x\n");
        var result = await fixture.BuildOursAsync(context, new Dictionary<string, string> { ["BASE"] = fixture.BaseImage });

        var names = new List<string>();
        await using (var blob = result.Image.Layers[^1].OpenBlob())
        await using (var tar = new TarReader(new System.IO.Compression.GZipStream(blob, System.IO.Compression.CompressionMode.Decompress)))
        {
            while (await tar.GetNextEntryAsync() is { } entry)
            {
                names.Add(entry.Name);
            }
        }

        Assert.Contains("etc/.wh.motd", names);
        Assert.Contains("opt/.wh.x", names);
        var image = await LoadAsync(result.Image, "whiteout-test:1", work);
        var run = env.Docker("run", "--rm", "--network", "none", image, "sh", "-c", "test ! -e /etc/motd && test ! -e /opt/x && test -e /etc/passwd && echo all-gone").AssertSuccess();
        Assert.Contains("all-gone", run.Output);
    }

    [Fact]
    public async Task ScratchPlusABusyboxRootfsTarXzRunsInDocker()
    {
        env.Require();
        using var work = new TempDirectory();
        var rootfs = work.Combine("rootfs");
        Directory.CreateDirectory(Path.Combine(rootfs, "bin"));
        File.Copy("/bin/busybox", Path.Combine(rootfs, "bin", "busybox"));
        foreach (var applet in new[] { "sh", "echo", "ls", "cat" })
        {
            File.CreateSymbolicLink(Path.Combine(rootfs, "bin", applet), "busybox");
        }

        var context = Context(work, "FROM scratch\nADD rootfs.tar.xz /\nCMD [\"/bin/sh\"]\n");
        TestEnvironment.Run("tar", ["--numeric-owner", "-C", rootfs, "-cJf", Path.Combine(context, "rootfs.tar.xz"), "."]).AssertSuccess();
        var result = await fixture.BuildOursAsync(context, new Dictionary<string, string>());
        Assert.Equal(["/bin/sh"], result.Image.Config.Config!.Cmd);
        var image = await LoadAsync(result.Image, "scratch-busybox:1", work);
        var run = env.Docker("run", "--rm", "--network", "none", image, "/bin/sh", "-c", "echo from-scratch; ls /bin").AssertSuccess();
        Assert.Contains("from-scratch", run.Output);
        Assert.Contains("busybox", run.Output);

        // The image's own CMD: a shell with no input exits at once, successfully.
        env.Docker("run", "--rm", "--network", "none", image).AssertSuccess();
    }

    [Fact]
    public async Task ASecondBuildOfAnUnchangedDockerfileReusesEveryLayerAndTouchesNothing()
    {
        env.Require();
        using var work = new TempDirectory();
        work.WriteFile("context/app/one.txt", "one");
        work.WriteFile("context/app/two.txt", "two");
        var unique = Guid.NewGuid().ToString("N");
        var context = Context(work, $"ARG BASE\nFROM ${{BASE}}\nRUN echo {unique} > /unique\nCOPY app /app/\nRUN mkdir -p /data && echo 1 > /data/a\nWORKDIR /srv\nRUN echo 2 > /data/b && rm /etc/motd\nRUN ls -R /app > /listing\n");
        var arguments = new Dictionary<string, string> { ["BASE"] = fixture.BaseImage };

        var first = await fixture.BuildOursAsync(context, arguments);
        var log = new RecordingLog();
        var second = await fixture.BuildOursAsync(context, arguments, log: log);

        Assert.Equal(6, first.StepsRun);
        Assert.Equal((0, 6), (second.StepsRun, second.StepsCached));
        Assert.Equal(6, log.Lines.Count(l => l.Contains("] CACHED ", StringComparison.Ordinal)));
        Assert.Contains(log.Lines, l => l.Contains("0 steps run, 6 from the cache", StringComparison.Ordinal));
        Assert.Equal(first.Image.ManifestDigest, second.Image.ManifestDigest);

        // Work counted, not timed: the cached build unpacked no layer and mounted nothing.
        Assert.True(first.Mounts > 0 || first.LayersUnpacked > 0, "the first build ran its steps on a root");
        Assert.Equal((0, 0), (second.LayersUnpacked, second.Mounts));
    }

    [Fact]
    public async Task RunHereDocumentsAndCacheMountsWork()
    {
        env.Require();
        using var work = new TempDirectory();
        var unique = Guid.NewGuid().ToString("N");
        var context = Context(work, $"ARG BASE\nFROM ${{BASE}}\nRUN <<EOF\necho first > /h1\necho second > /h2\nEOF\nRUN <<'EOT'\n#!/bin/sh\necho \"shebang $0\" > /h3\nEOT\nCOPY <<EOF /inline.txt\ninline content\nEOF\nRUN --mount=type=cache,id={unique},target=/cache ls /cache > /seen && date +%s%N > /cache/stamp\n");
        var arguments = new Dictionary<string, string> { ["BASE"] = fixture.BaseImage };
        var first = await fixture.BuildOursAsync(context, arguments);
        var second = await fixture.BuildOursAsync(context, arguments, noCache: true);
        var image = await LoadAsync(second.Image, "heredoc-test:1", work);
        var run = env.Docker("run", "--rm", "--network", "none", image, "sh", "-c", "cat /h1 /h2 /h3 /inline.txt /seen; test -e /cache/stamp || echo no-stamp-in-image").AssertSuccess();
        Assert.Contains("first\nsecond\nshebang /dev/pipes/EOT\ninline content\nstamp", run.StandardOutput.Replace("\r", string.Empty));
        Assert.Contains("no-stamp-in-image", run.Output);
        Assert.NotEqual(first.Image.ManifestDigest, second.Image.ManifestDigest);
    }

    [Fact]
    public async Task AddOfAUrlChecksItsDigest()
    {
        env.Require();
        using var work = new TempDirectory();
        var body = "downloaded payload\n"u8.ToArray();
        var digest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(body));
        using var server = LocalHttpServer.Start((request, _) => request.Url!.AbsolutePath == "/files/payload.txt"
            ? new HttpAnswer(200, "text/plain", body)
            : new HttpAnswer(404, "text/plain", "not found"u8.ToArray()));
        var url = $"http://{server.Host}/files/payload.txt";
        var good = await fixture.BuildOursAsync(Context(work, $"FROM scratch\nADD --checksum={digest} {url} /downloads/\n"), new Dictionary<string, string>());
        var root = work.Combine("unpacked");
        Directory.CreateDirectory(root);
        await LayerUnpacker.UnpackLayerAsync(good.Image.Layers[^1], root, "the ADD layer", CancellationToken.None);

        Assert.Equal(body, await File.ReadAllBytesAsync(Path.Combine(root, "downloads", "payload.txt")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(root, "downloads", "payload.txt")));

        using var other = new TempDirectory();
        var wrong = "sha256:" + new string('0', 64);
        var error = await Assert.ThrowsAsync<Dockerfiles.DockerfileSyntaxException>(() => fixture.BuildOursAsync(Context(other, $"FROM scratch\nADD --checksum={wrong} {url} /downloads/\n"), new Dictionary<string, string>()));
        Assert.Contains($"has the digest {digest}, not the {wrong} that --checksum expects; nothing was added", error.Message);
        Assert.StartsWith("Dockerfile:2:5:", error.Message);
    }

    [Fact]
    public void TheCliBuildsToAnOciLayoutADaemonAndARegistry()
    {
        env.Require();
        using var work = new TempDirectory();
        work.WriteFile("context/greeting.txt", "hello from the cli");
        var context = Context(work, "ARG BASE\nFROM ${BASE} AS build\nRUN echo built > /built.txt\nFROM ${BASE}\nCOPY --from=build /built.txt /\nCOPY greeting.txt /\nCMD [\"cat\", \"/greeting.txt\", \"/built.txt\"]\n");
        var registry = fixture.BaseImage.Split('/')[0];
        var layout = work.Combine("layout");
        var build = Cli("build", context, "--build-arg", $"BASE={fixture.BaseImage}", "-t", $"{registry}/cli/built:1", "--progress=plain",
            "--output", $"type=oci,dest={layout},tar=false", "--load", "--push", "--iidfile", work.Combine("iid"), "--cache", fixture.Cache).AssertSuccess();
        Assert.Contains("[stage-1 2/3] COPY --from=build /built.txt /", build.Output); // FROM is step 1, as BuildKit counts
        var imageId = File.ReadAllText(work.Combine("iid")).Trim();

        TestEnvironment.Run("/usr/bin/umoci", ["stat", "--image", $"{layout}:1"]).AssertSuccess();
        var skopeo = TestEnvironment.Run("/usr/bin/skopeo", ["inspect", "--tls-verify=false", "--config", $"docker://{registry}/cli/built:1"]).AssertSuccess();
        Assert.Contains("\"cat\"", skopeo.StandardOutput);
        var run = env.Docker("run", "--rm", "--network", "none", $"{registry}/cli/built:1").AssertSuccess();
        Assert.Contains("hello from the cli", run.Output);
        Assert.Contains("built", run.Output);
        var inspect = env.Docker("image", "inspect", "--format", "{{.Id}}", $"{registry}/cli/built:1").AssertSuccess();
        Assert.Equal(imageId, inspect.StandardOutput.Trim());

        var failing = Cli("build", Context(work, "ARG BASE\nFROM ${BASE}\nRUN echo about to fail && exit 3\n"), "--build-arg", $"BASE={fixture.BaseImage}", "--progress=plain", "--cache", fixture.Cache);
        Assert.Equal(1, failing.ExitCode);
        Assert.Contains("about to fail", failing.Output);
        Assert.Contains("error CONTAINER3022: Dockerfile:3: RUN echo about to fail && exit 3 failed: the command exited with code 3.", failing.Output);
        Assert.DoesNotContain("   at ", failing.Output);

        // On a terminal: the live area is redrawn in place (ESC[nF ESC[J), and the failed step's output is kept above
        // the error, so "its output is above" holds there too.
        var tty = Cli("build", Context(work, "ARG BASE\nFROM ${BASE}\nRUN echo about to fail && exit 3\n"), "--build-arg", $"BASE={fixture.BaseImage}", "--progress=tty", "--cache", fixture.Cache);
        Assert.Equal(1, tty.ExitCode);
        Assert.Matches("\u001b\\[\\d+F\u001b\\[J", tty.Output);
        Assert.Contains(" => ERROR [stage-0 2/2] RUN echo about to fail && exit 3", tty.Output);
        Assert.Matches("------\n > \\[stage-0 2/2\\] RUN echo about to fail && exit 3:\n   about to fail\n------", tty.Output);
        Assert.Contains("FINISHED", tty.Output);
        Assert.Contains("error CONTAINER3022: Dockerfile:3: RUN echo about to fail && exit 3 failed", tty.Output);
        Assert.True(tty.Output.IndexOf("FINISHED", StringComparison.Ordinal) < tty.Output.IndexOf("error CONTAINER3022", StringComparison.Ordinal), "the display is closed before the error is written");
    }

    [Fact]
    public async Task ABuildsSbomListsWhatTheFinalFileSystemHoldsAndItsProvenanceTheDockerfile()
    {
        env.Require();
        using var work = new TempDirectory();
        work.WriteFile("context/status", "Package: zlib1g\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1:1.2.13.dfsg-1\n\nPackage: gone\nStatus: deinstall ok config-files\nArchitecture: amd64\nVersion: 1.0\n");
        work.WriteFile("context/app/web.dll", "IL");
        work.WriteFile("context/app/web.deps.json", """
            {"runtimeTarget":{"name":".NETCoreApp,Version=v10.0"},
             "targets":{".NETCoreApp,Version=v10.0":{"web/1.0.0":{"dependencies":{"Humanizer.Core":"2.14.1"},"runtime":{"web.dll":{}}},"Humanizer.Core/2.14.1":{"runtime":{"lib/net6.0/Humanizer.dll":{}}}}},
             "libraries":{"web/1.0.0":{"type":"project","serviceable":false,"sha512":""},"Humanizer.Core/2.14.1":{"type":"package","serviceable":true,"sha512":"sha512-yhlUp8YpIkS7tG9m5kmmNr9qCnMWn8rOsVyG2AJCi6x8WjwUmd8ifc/1oXGA2Bm2V0eJdtdHmKrz8h+PmMdRVA==","path":"humanizer.core/2.14.1"}}}
            """);
        const string dockerfile = "ARG BASE\nFROM ${BASE}\nCOPY status /var/lib/dpkg/status\nCOPY app/ /app/\n";
        var context = Context(work, dockerfile);
        var layout = work.Combine("layout");
        var documents = work.Combine("documents");
        Cli("build", context, "--build-arg", $"BASE={fixture.BaseImage}", "-t", "sbomtest/web:1", "--progress=plain", "--sbom=cyclonedx", "--provenance=mode=max",
            "--sbom-dir", documents, "--output", $"type=oci,dest={layout},tar=false", "--cache", fixture.Cache).AssertSuccess();

        var sbom = File.ReadAllText(Path.Combine(documents, "web.linux-amd64.cdx.json"));
        await Sdk.Containers.Tests.SbomSchemas.AssertValidCycloneDxAsync(sbom);
        Assert.Contains("pkg:nuget/Humanizer.Core@2.14.1", sbom, StringComparison.Ordinal);
        Assert.Contains("pkg:deb/debian/zlib1g@", sbom, StringComparison.Ordinal);
        Assert.DoesNotContain("pkg:deb/debian/gone@", sbom, StringComparison.Ordinal);

        var provenance = File.ReadAllText(Path.Combine(documents, "web.linux-amd64.provenance.json"));
        var dockerfileDigest = Digests.Digest.Compute(System.Text.Encoding.UTF8.GetBytes(dockerfile));
        Assert.Contains($"\"sha256\":\"{dockerfileDigest.Hex}\"", provenance, StringComparison.Ordinal);
        Assert.Contains(Provenance.BuildTypeDockerfile, provenance, StringComparison.Ordinal);

        // max: every file step of the stage, as written in the Dockerfile, with the layer it made.
        using (var statement = System.Text.Json.JsonDocument.Parse(provenance))
        {
            var steps = statement.RootElement.GetProperty("predicate").GetProperty("runDetails").GetProperty("byproducts").EnumerateArray()
                .Where(b => b.GetProperty("name").GetString()!.StartsWith("step: ", StringComparison.Ordinal))
                .Select(b => (Name: b.GetProperty("name").GetString(), Line: b.GetProperty("annotations").GetProperty("line").GetString(), DiffId: b.GetProperty("digest").GetProperty("sha256").GetString()))
                .ToArray();
            Assert.Equal(["step: [stage-0] COPY status /var/lib/dpkg/status", "step: [stage-0] COPY app/ /app/"], steps.Select(s => s.Name));
            Assert.Equal(["3", "4"], steps.Select(s => s.Line));
            byte[] Blob(System.Text.Json.JsonElement descriptor)
            {
                var digest = Digests.Digest.Parse(descriptor.GetProperty("digest").GetString()!);
                return File.ReadAllBytes(Path.Combine(layout, "blobs", digest.Algorithm, digest.Hex));
            }


            using var layoutIndex = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(layout, "index.json")));
            var imageEntry = layoutIndex.RootElement.GetProperty("manifests").EnumerateArray().Single(m => !m.TryGetProperty("artifactType", out _));
            using var manifest = System.Text.Json.JsonDocument.Parse(Blob(imageEntry));
            using var config = System.Text.Json.JsonDocument.Parse(Blob(manifest.RootElement.GetProperty("config")));
            var diffIds = config.RootElement.GetProperty("rootfs").GetProperty("diff_ids").EnumerateArray().Select(d => d.GetString()![7..]).ToArray();
            Assert.Equal(diffIds[^2..], steps.Select(s => s.DiffId));

            // The base is Docker-format, so the layout holds the image with OCI media types under a new digest: its
            // documents are made again for that manifest rather than left out (or pointing at one not there).
            Assert.Equal("application/vnd.oci.image.manifest.v1+json", imageEntry.GetProperty("mediaType").GetString());
            var referrers = layoutIndex.RootElement.GetProperty("manifests").EnumerateArray().Where(m => m.TryGetProperty("artifactType", out _)).ToArray();
            Assert.Equal(["application/vnd.cyclonedx+json", "application/vnd.in-toto+json"], referrers.Select(r => r.GetProperty("artifactType").GetString()).Order(StringComparer.Ordinal));
            foreach (var referrer in referrers)
            {
                using var artifact = System.Text.Json.JsonDocument.Parse(Blob(referrer));
                Assert.Equal(imageEntry.GetProperty("digest").GetString(), artifact.RootElement.GetProperty("subject").GetProperty("digest").GetString());
                if (referrer.GetProperty("artifactType").GetString() == "application/vnd.in-toto+json")
                {
                    var document = System.Text.Encoding.UTF8.GetString(Blob(artifact.RootElement.GetProperty("layers")[0]));
                    Assert.Contains($"\"sha256\":\"{imageEntry.GetProperty("digest").GetString()!["sha256:".Length..]}\"", document, StringComparison.Ordinal);
                }
            }
        }

        TestEnvironment.Run("/usr/bin/umoci", ["stat", "--image", $"{layout}:1"]).AssertSuccess();

        // Again, every step from the cache: the same statement (whether a step ran is not in it).
        var again = work.Combine("again");
        var rebuild = Cli("build", context, "--build-arg", $"BASE={fixture.BaseImage}", "-t", "sbomtest/web:1", "--progress=plain", "--provenance=mode=max",
            "--sbom-dir", again, "--cache", fixture.Cache).AssertSuccess();
        Assert.Contains("2 from the cache", rebuild.Output);
        Assert.Equal(provenance, File.ReadAllText(Path.Combine(again, "web.linux-amd64.provenance.json")));
    }

    [Fact]
    public void AMultiPlatformOciArchiveIsPushedAsAnIndexNamedByDigest()
    {
        env.Require();
        using var work = new TempDirectory();
        work.WriteFile("context/app.txt", "the same file on both platforms");
        var context = Context(work, "FROM scratch\nARG TARGETARCH\nCOPY app.txt /\nLABEL arch=${TARGETARCH}\n");
        var archive = work.Combine("multi.tar");
        Cli("build", context, "--platform", "linux/amd64,linux/arm64", "-o", $"type=oci,dest={archive}", "--progress=plain", "--cache", fixture.Cache).AssertSuccess();

        var registry = fixture.BaseImage.Split('/')[0];
        var push = Cli("push", archive, $"{registry}/cli/multi:1", "--cache", fixture.Cache).AssertSuccess();
        Assert.Matches($@"Pushed {Regex.Escape(registry)}/cli/multi@sha256:[0-9a-f]{{64}}", push.Output); // each platform by digest, written with @
        Assert.DoesNotContain("multi:sha256:", push.Output);

        var raw = TestEnvironment.Run("/usr/bin/skopeo", ["inspect", "--raw", "--tls-verify=false", $"docker://{registry}/cli/multi:1"]).AssertSuccess();
        using var index = System.Text.Json.JsonDocument.Parse(raw.StandardOutput);
        var architectures = index.RootElement.GetProperty("manifests").EnumerateArray().Select(m => m.GetProperty("platform").GetProperty("architecture").GetString()).Order(StringComparer.Ordinal);
        Assert.Equal(["amd64", "arm64"], architectures);
        var arm = TestEnvironment.Run("/usr/bin/skopeo", ["inspect", "--tls-verify=false", "--override-arch", "arm64", $"docker://{registry}/cli/multi:1"]).AssertSuccess();
        Assert.Contains("\"arch\": \"arm64\"", arm.StandardOutput);
    }

    [Fact]
    public void RunWithoutAnOciRuntimeSaysWhatToInstall()
    {
        env.Require();
        using var work = new TempDirectory();
        var context = Context(work, "ARG BASE\nFROM ${BASE}\nRUN echo never\n");
        var result = TestEnvironment.Cli(
            ["build", context, "--build-arg", $"BASE={fixture.BaseImage}", "--no-cache", "--progress=plain", "--cache", fixture.Cache],
            new Dictionary<string, string> { ["SDK_CONTAINERS_OCI_RUNTIME"] = "/nonexistent/runc" });
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("error CONTAINER3020: Dockerfile:3: RUN needs an OCI runtime and none was found (SDK_CONTAINERS_OCI_RUNTIME is /nonexistent/runc, which does not exist). Install one (apt-get install runc)", result.Output);
        Assert.DoesNotContain("   at ", result.Output);
    }

    private sealed class RecordingLog : IBuildLog
    {
        public List<string> Lines { get; } = [];

        public void Info(string message) => Lines.Add(message);

        public void Detail(string message) => Lines.Add(message);

        public void Warning(string code, string message) => Lines.Add($"{code}: {message}");
    }
}
