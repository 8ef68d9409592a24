using Sdk.Containers.Archives;

namespace Sdk.Containers.Integration;

/// <summary>
/// Each Dockerfile of tests/Integration.Tests/DockerfileCorpus is built by BuildKit (the test engine's) and by our
/// builder from the same base image; the run settings of the two images and the files of a container of each must
/// be equal.
/// </summary>
[Collection(EnvironmentCollection.Name)]
public sealed class DockerfileCorpusTests(TestEnvironment env, DockerfileFixture fixture) : IClassFixture<DockerfileFixture>
{
    public static string CorpusDirectory => Path.Combine(RepoPaths.Root, "tests", "Integration.Tests", "DockerfileCorpus");

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var directory in Directory.EnumerateDirectories(CorpusDirectory).Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(directory));
        }

        return data;
    }

    [Fact]
    public void TheCorpusHasAtLeast25Dockerfiles() => Assert.True(Cases().Count >= 25, $"only {Cases().Count} cases");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task BuildsLikeBuildKit(string name)
    {
        env.Require();
        var context = fixture.Work.Combine("contexts", name);
        Directory.CreateDirectory(Path.GetDirectoryName(context)!);
        TestEnvironment.Run("cp", ["-a", Path.Combine(CorpusDirectory, name), context]).AssertSuccess();
        if (File.ReadAllText(Path.Combine(context, "Dockerfile")).Contains("archive.tar", StringComparison.Ordinal))
        {
            DockerfileFixture.MakeArchives(context, fixture.Work);
        }

        var arguments = new Dictionary<string, string> { ["BASE"] = fixture.BaseImage };
        var theirs = $"corpus-buildkit-{name}:1";
        DockerfileFixture.BuildWithBuildKit(context, theirs, arguments).AssertSuccess();

        var expectedSettings = DockerfileFixture.RunSettings(theirs);
        using var work = new TempDirectory();
        var expectedFiles = DockerfileFixture.ExportedFiles(theirs, work);

        // Both of our snapshotters. The engine's BuildKit copies whole roots (vfs), as our fallback does; on overlayfs a
        // change to one name of a hard-linked lower file is not seen through its other names (copy-up breaks the
        // link, as with BuildKit on overlay2): a case lists such paths in `overlayfs-differs`, and exactly those differ.
        var declared = File.Exists(Path.Combine(context, "overlayfs-differs"))
            ? File.ReadAllLines(Path.Combine(context, "overlayfs-differs")).Where(l => l.Length > 0 && !l.StartsWith('#')).ToHashSet(StringComparer.Ordinal)
            : [];
        foreach (var snapshotter in new[] { Dockerfiles.Snapshotter.Native, Dockerfiles.Snapshotter.Overlayfs })
        {
            var ours = $"corpus-ours-{name}-{snapshotter.ToString().ToLowerInvariant()}:1";
            // A cache each: steps built by one snapshotter would otherwise be taken from the cache by the other.
            var result = await fixture.BuildOursAsync(context, arguments, cache: fixture.Work.Combine($"cache-{snapshotter}"), snapshotter: snapshotter);
            Assert.Equal(snapshotter, result.Snapshotter);
            var archive = fixture.Work.Combine($"{name}-{snapshotter}.tar");
            await DockerArchiveWriter.WriteAsync(result.Image, [Sdk.Containers.References.ImageReference.Parse(ours)], archive, DateTimeOffset.FromUnixTimeSeconds(1), CancellationToken.None);
            env.Docker("load", "-i", archive).AssertSuccess();

            var actualSettings = DockerfileFixture.RunSettings(ours);
            var settingDifferences = expectedSettings.Where(s => actualSettings[s.Key] != s.Value).Select(s => $"{s.Key}: BuildKit {s.Value}, ours {actualSettings[s.Key]}").ToList();
            Assert.True(settingDifferences.Count == 0, $"{name} ({snapshotter}): run settings differ:\n{string.Join('\n', settingDifferences)}");

            var actualFiles = DockerfileFixture.ExportedFiles(ours, work);
            var differing = expectedFiles.Keys.Union(actualFiles.Keys).Order(StringComparer.Ordinal)
                .Where(path => expectedFiles.GetValueOrDefault(path) != actualFiles.GetValueOrDefault(path)).ToList();
            var allowed = snapshotter == Dockerfiles.Snapshotter.Overlayfs ? declared : [];
            var fileDifferences = differing.Where(p => !allowed.Contains("/" + p))
                .Select(path => $"/{path}: BuildKit {expectedFiles.GetValueOrDefault(path) ?? "(absent)"}, ours {actualFiles.GetValueOrDefault(path) ?? "(absent)"}")
                .ToList();
            Assert.True(fileDifferences.Count == 0, $"{name} ({snapshotter}): files differ:\n{string.Join('\n', fileDifferences.Take(40))}");
            Assert.True(allowed.All(p => differing.Contains(p[1..])), $"{name} ({snapshotter}): overlayfs-differs lists paths that do not differ; remove them");
        }

        Assert.True(expectedFiles.Count > 100, "the export holds the base image's files");
    }
}
