using Sdk.Containers.Dockerfiles;

namespace Sdk.Containers.Tests;

/// <summary>Docker's .dockerignore rules, case by case as moby/patternmatcher documents them.</summary>
public sealed class DockerIgnoreTests
{
    [Theory]
    [InlineData("*.log", "a.log", true)]
    [InlineData("*.log", "dir/a.log", false)]
    [InlineData("**/*.log", "dir/sub/a.log", true)]
    [InlineData("**/*.log", "a.log", true)]
    [InlineData("tmp", "tmp/inside/file", true)]
    [InlineData("/secret.txt", "secret.txt", true)]
    [InlineData("/secret.txt", "sub/secret.txt", false)]
    [InlineData("docs/**/draft*", "docs/guide/deep/draft1.md", true)]
    [InlineData("docs/**/draft*", "docs/final.md", false)]
    [InlineData("file?.txt", "file1.txt", true)]
    [InlineData("file?.txt", "file10.txt", false)]
    [InlineData("[ab].cfg", "a.cfg", true)]
    [InlineData("[ab].cfg", "c.cfg", false)]
    [InlineData("./build/../out", "out", true)]
    [InlineData("**", "anything/at/all", true)]
    public void SinglePatterns(string pattern, string path, bool excluded)
        => Assert.Equal(excluded, new DockerIgnore([pattern]).IsExcluded(path));

    [Fact]
    public void ExceptionsReincludeAndTheLastMatchWins()
    {
        var ignore = new DockerIgnore(["# comment", "", "*.log", "!keep.log", "  logs/  ", "!logs/important.log", "keep.log"]);
        Assert.True(ignore.IsExcluded("a.log"));
        Assert.True(ignore.IsExcluded("keep.log"));
        Assert.True(ignore.IsExcluded("logs/other.txt"));
        Assert.False(ignore.IsExcluded("logs/important.log"));
        Assert.False(ignore.IsExcluded("src/a.cs"));
        Assert.True(ignore.MayReinclude("logs"));
    }

    [Fact]
    public void ALoneExclamationMarkIsAnError()
        => Assert.Contains("lone '!'", Assert.Throws<ContainerException>(() => new DockerIgnore(["!"])).Message);
}
