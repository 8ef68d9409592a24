using System.Formats.Tar;
using Sdk.Containers.Dockerfiles;
using Sdk.Containers.Images;

namespace Sdk.Containers.Tests;

/// <summary>
/// The Dockerfile builder on FROM scratch (no registry, no runtime): errors that name file, line and column and say
/// what to do, hostile ADD archives, --exclude, and the step cache.
/// </summary>
public sealed class DockerfileBuilderTests
{
    private static Task<DockerfileBuildResult> Build(TempDirectory work, string dockerfile, bool noCache = false)
    {
        work.WriteFile("context/Dockerfile", dockerfile);
        return new DockerfileBuilder(TestServices.For(work.Combine("cache"))).BuildAsync(new DockerfileBuildRequest
        {
            ContextDirectory = work.Combine("context"),
            NoCache = noCache,
            Platform = Platform.Parse("linux/amd64"),
        }, CancellationToken.None);
    }

    public static TheoryData<string, string> Malformed() => new()
    {
        { "FROM scratch\nFROBNICATE x\n", "Dockerfile:2:1: unknown instruction 'FROBNICATE'" },
        { "FROM scratch\nRUN <<EOF\necho never ends\n", "Dockerfile:2:5-3: the here-document <<EOF is not terminated: add a line holding only EOF." },
        { "FROM scratch\nCMD [\"echo\", 'single']\n", "Dockerfile:2:5: CMD looks like the exec form but is not valid JSON" },
        { "FROM scratch\nENTRYPOINT [\"a\" \"b\"]\n", "Dockerfile:2:12: ENTRYPOINT looks like the exec form but is not valid JSON" },
        { "FROM scratch AS base\nFROM scratch\nCOPY --from=builder /x /y\n", "Dockerfile:3:6: --from=builder names no earlier stage (the stages before this one are base)" },
        { "FROM $BASE\n", "Dockerfile:1:6: the base name ($BASE) is blank after expansion; declare the ARG it uses before the first FROM, or pass --build-arg." },
        { "FROM scratch\nCOPY missing.txt /\n", "Dockerfile:2:6: \"/missing.txt\": not found in the build context" },
        { "FROM scratch\nCOPY --chmod=99x Dockerfile /\n", "Dockerfile:2:6: --chmod=99x is not an octal mode" },
        { "FROM scratch\nCOPY --bogus Dockerfile /\n", "Dockerfile:2:6: COPY does not take the flag --bogus" },
        { "FROM scratch\nCOPY Dockerfile Dockerfile /not-a-dir\n", "Dockerfile:2:28: COPY has several sources, so its destination '/not-a-dir' must be a directory ending in '/'." },
    };

    /// <summary>Flag errors on a late line, after a FROM that could never be pulled: found before any pull or step.</summary>
    public static TheoryData<string, string> CheckedBeforeAnyWork() => new()
    {
        { "FROM 127.0.0.1:9/never/pulled:1\nRUN echo one\nRUN --mount=type=cache,target=/c,mode=9z true\n", "Dockerfile:3:5: --mount mode=9z is not an octal mode." },
        { "FROM 127.0.0.1:9/never/pulled:1\nRUN echo one\nRUN --mount=type=nfs,target=/c true\n", "Dockerfile:3:5: --mount type=nfs is not a mount type" },
        { "FROM 127.0.0.1:9/never/pulled:1\nRUN echo one\nRUN --mount=type=cache,targt=/c true\n", "Dockerfile:3:5: --mount does not take 'targt'" },
        { "FROM 127.0.0.1:9/never/pulled:1\nRUN echo one\nRUN --network=bridge true\n", "Dockerfile:3:5: --network=bridge is not supported" },
        { "FROM 127.0.0.1:9/never/pulled:1\nRUN echo one\nRUN --mount=type=secret true\n", "Dockerfile:3:5: --mount=type=secret needs id=" },
        { "FROM 127.0.0.1:9/never/pulled:1\nRUN echo one\nADD --from=x a /b\n", "Dockerfile:3:5: ADD does not take the flag --from" },
        { "FROM 127.0.0.1:9/never/pulled:1\nRUN echo one\nCOPY --chmod=8 a /b\n", "Dockerfile:3:6: --chmod=8 is not an octal mode" },
        { "FROM 127.0.0.1:9/never/pulled:1\nRUN echo one\nCOPY onlyone\n", "Dockerfile:3:1: COPY needs at least one source and a destination" },
    };

    [Theory]
    [MemberData(nameof(CheckedBeforeAnyWork))]
    public async Task FlagErrorsAreFoundBeforeAnythingIsPulledOrRun(string dockerfile, string expected)
    {
        using var work = new TempDirectory();
        var error = await Assert.ThrowsAnyAsync<ContainerException>(() => Build(work, dockerfile));
        Assert.StartsWith(expected, error.Message);
        Assert.StartsWith("CONTAINER3", error.Code);
        // The store's lock file (taken when the services are made) is all there may be.
        var cache = work.Combine("cache");
        Assert.False(Directory.Exists(cache) && Directory.EnumerateFileSystemEntries(cache).Any(e => Path.GetFileName(e) != ".lock"), "the build had begun: it wrote into its cache before the error");
    }

    [Theory]
    [MemberData(nameof(Malformed))]
    public async Task MalformedDockerfilesGiveOneErrorWithFileLineAndColumn(string dockerfile, string expected)
    {
        using var work = new TempDirectory();
        var error = await Assert.ThrowsAnyAsync<ContainerException>(() => Build(work, dockerfile));
        Assert.StartsWith(expected, error.Message);
        Assert.DoesNotContain('\n', error.Message);
        Assert.StartsWith("CONTAINER3", error.Code);
    }

    public static TheoryData<string> HostileArchives() => new() { "dotdot", "absolute", "symlink" };

    [Theory]
    [MemberData(nameof(HostileArchives))]
    public async Task AddRefusesArchivesThatEscapeTheDestination(string kind)
    {
        using var work = new TempDirectory();
        var canary = work.WriteFile("canary.txt", "untouched");
        var archive = work.Combine("context", "evil.tar");
        Directory.CreateDirectory(work.Combine("context"));
        await using (var file = File.Create(archive))
        await using (var tar = new TarWriter(file, TarEntryFormat.Pax))
        {
            switch (kind)
            {
                case "dotdot":
                    await tar.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, "../../../../../../../../" + canary.TrimStart('/')) { DataStream = new MemoryStream("overwritten"u8.ToArray()) });
                    break;
                case "absolute":
                    await tar.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, canary) { DataStream = new MemoryStream("overwritten"u8.ToArray()) });
                    break;
                default:
                    await tar.WriteEntryAsync(new PaxTarEntry(TarEntryType.SymbolicLink, "up") { LinkName = "../../../../../../../../../.." });
                    await tar.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, "up/" + canary.TrimStart('/')) { DataStream = new MemoryStream("overwritten"u8.ToArray()) });
                    break;
            }
        }

        var error = await Assert.ThrowsAsync<ContainerException>(() => Build(work, "FROM scratch\nADD evil.tar /dest/\n"));
        Assert.Contains("Dockerfile:2: the archive evil.tar", error.Message);
        Assert.Equal(ErrorCodes.UnsafeLayerEntry, error.Code);
        Assert.Equal("untouched", File.ReadAllText(canary));
    }

    /// <summary>docker-daemon: and podman: are publish bases and CLI sources; a Dockerfile names images as BuildKit does.</summary>
    [Theory]
    [InlineData("FROM docker-daemon:team/base:1\n", "docker-daemon:team/base:1")]
    [InlineData("FROM scratch\nCOPY --from=podman:team/tools:1 /x /x\n", "podman:team/tools:1")]
    public async Task ADockerfileRefusesALocalEngineImageSayingWhatToUseInstead(string dockerfile, string image)
    {
        using var work = new TempDirectory();
        var error = await Assert.ThrowsAsync<ContainerException>(() => Build(work, dockerfile));
        Assert.Equal(ErrorCodes.InvalidImageSource, error.Code);
        Assert.Contains($"The Dockerfile names the image '{image}', but a Dockerfile's images come from a registry, an oci: layout or a docker-archive:, not from a local engine", error.Message);
        Assert.Contains("docker save -o base.tar", error.Message);
    }

    [Fact]
    public async Task CopyFollowsDockerDirectoryRulesAndExcludes()
    {
        using var work = new TempDirectory();
        work.WriteFile("context/files/a.txt", "a");
        work.WriteFile("context/files/debug.log", "log");
        work.WriteFile("context/files/sub/b.txt", "b");
        var result = await Build(work, "FROM scratch\nCOPY --exclude=*.log files /app\nCOPY files/a.txt /single\nCOPY files/a.txt /into/\nWORKDIR /app\nCOPY files/sub/b.txt rel.txt\n");
        var files = LayerPaths(result.Image);
        Assert.Contains("app/a.txt", files);
        Assert.Contains("app/sub/b.txt", files);
        Assert.DoesNotContain("app/debug.log", files);
        Assert.Contains("single", files);
        Assert.Contains("into/a.txt", files);
        Assert.Contains("app/rel.txt", files);
        Assert.Equal("/app", result.Image.Config.Config!.WorkingDir);
        Assert.Equal(["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], result.Image.Config.Config.Env);
    }

    [Fact]
    public async Task AnUnchangedRebuildTakesEveryStepFromTheCacheAndAChangedSourceRebuildsFromThere()
    {
        using var work = new TempDirectory();
        work.WriteFile("context/one.txt", "one");
        work.WriteFile("context/two.txt", "two");
        const string dockerfile = "FROM scratch\nCOPY one.txt /\nWORKDIR /w\nCOPY two.txt /\n";
        var first = await Build(work, dockerfile);
        Assert.Equal(3, first.StepsRun);
        var second = await Build(work, dockerfile);
        Assert.Equal((0, 3), (second.StepsRun, second.StepsCached));
        Assert.Equal(first.Image.ManifestDigest, second.Image.ManifestDigest);

        work.WriteFile("context/two.txt", "changed");
        var third = await Build(work, dockerfile);
        Assert.Equal((1, 2), (third.StepsRun, third.StepsCached));
        var noCache = await Build(work, dockerfile, noCache: true);
        Assert.Equal(3, noCache.StepsRun);
    }

    private static HashSet<string> LayerPaths(Image image)
    {
        var paths = new HashSet<string>(StringComparer.Ordinal);
        foreach (var layer in image.Layers)
        {
            using var blob = layer.OpenBlob();
            using var tar = new TarReader(new System.IO.Compression.GZipStream(blob, System.IO.Compression.CompressionMode.Decompress));
            while (tar.GetNextEntry() is { } entry)
            {
                paths.Add(entry.Name.TrimEnd('/'));
            }
        }

        return paths;
    }
}
