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

        var ours = $"corpus-ours-{name}:1";
        var result = await fixture.BuildOursAsync(context, arguments);
        var archive = fixture.Work.Combine($"{name}.tar");
        await DockerArchiveWriter.WriteAsync(result.Image, [ours], archive, DateTimeOffset.FromUnixTimeSeconds(1), CancellationToken.None);
        env.Docker("load", "-i", archive).AssertSuccess();

        var expectedSettings = DockerfileFixture.RunSettings(theirs);
        var actualSettings = DockerfileFixture.RunSettings(ours);
        var settingDifferences = expectedSettings.Where(s => actualSettings[s.Key] != s.Value).Select(s => $"{s.Key}: BuildKit {s.Value}, ours {actualSettings[s.Key]}").ToList();
        Assert.True(settingDifferences.Count == 0, $"{name}: run settings differ:\n{string.Join('\n', settingDifferences)}");

        using var work = new TempDirectory();
        var expectedFiles = DockerfileFixture.ExportedFiles(theirs, work);
        var actualFiles = DockerfileFixture.ExportedFiles(ours, work);
        var fileDifferences = expectedFiles.Keys.Union(actualFiles.Keys).Order(StringComparer.Ordinal)
            .Where(path => expectedFiles.GetValueOrDefault(path) != actualFiles.GetValueOrDefault(path))
            .Select(path => $"/{path}: BuildKit {expectedFiles.GetValueOrDefault(path) ?? "(absent)"}, ours {actualFiles.GetValueOrDefault(path) ?? "(absent)"}")
            .ToList();
        Assert.True(fileDifferences.Count == 0, $"{name}: files differ:\n{string.Join('\n', fileDifferences.Take(40))}");
        Assert.True(expectedFiles.Count > 100, "the export holds the base image's files");
    }
}
