using Sdk.Containers.References;

namespace Sdk.Containers.Tests;

public class ImageReferenceTests
{
    [Theory]
    [InlineData("ubuntu", "docker.io", "library/ubuntu", "latest", null)]
    [InlineData("ubuntu:22.04", "docker.io", "library/ubuntu", "22.04", null)]
    [InlineData("docker.io/myorg/app:1", "docker.io", "myorg/app", "1", null)]
    [InlineData("localhost/app", "localhost", "app", "latest", null)]
    [InlineData("127.0.0.1:5000/dotnet/runtime:10.0", "127.0.0.1:5000", "dotnet/runtime", "10.0", null)]
    [InlineData("mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled", "mcr.microsoft.com", "dotnet/aspnet", "10.0-noble-chiseled", null)]
    [InlineData("app@sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "docker.io", "library/app", null, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")]
    [InlineData("ghcr.io/a/b:t@sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "ghcr.io", "a/b", "t", "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")]
    public void ParsesLikeDocker(string value, string registry, string repository, string? tag, string? digest)
    {
        var reference = ImageReference.Parse(value);
        Assert.Equal(registry, reference.Registry);
        Assert.Equal(repository, reference.Repository);
        Assert.Equal(tag, reference.Tag);
        Assert.Equal(digest, reference.Digest?.ToString());
    }

    [Theory]
    [InlineData("MyApp", "must be lower case")]
    [InlineData("app:bad/tag!", "is not a valid registry host[:port]")]
    [InlineData("app:bad!tag", "is not valid: a tag is 1 to 128")]
    [InlineData("app:-tag", "is not valid: a tag is 1 to 128")]
    [InlineData("app@sha256:abcd", "has 4 hex digits")]
    [InlineData("a//b", "not a valid repository path component")]
    [InlineData("", "it is empty")]
    public void RejectsBadReferencesSayingWhy(string value, string reason)
    {
        var ex = Assert.Throws<ContainerException>(() => ImageReference.Parse(value, "ContainerBaseImage"));
        Assert.Contains(reason, ex.Message);
    }

    [Theory]
    [InlineData("MyCompany.WebApi", "mycompany.webapi")]
    [InlineData("Hello World!", "hello-world")]
    [InlineData("__", "app")]
    public void NormalizesAssemblyNamesIntoRepositories(string name, string repository)
    {
        Assert.Equal(repository, ImageReference.NormalizeRepository(name));
        ImageReference.ValidateRepository(repository, "test");
    }
}

public class VersionTagsTests
{
    [Theory]
    [InlineData("1.4.2", new[] { "1.4.2", "1.4", "1", "latest" })]
    [InlineData("2.0.0-rc.1", new[] { "2.0.0-rc.1" })]
    [InlineData("1.4.2+sha.abc123", new[] { "1.4.2", "1.4", "1", "latest" })]
    [InlineData("3.1.0.7", new[] { "3.1.0.7", "3.1", "3", "latest" })]
    public void StableVersionsFanOutAndPreReleasesDoNot(string version, string[] tags)
        => Assert.Equal(tags, References.VersionTags.FromVersion(version));

    [Fact]
    public void ANonVersionNamesTheProperty()
    {
        var ex = Assert.Throws<ContainerException>(() => References.VersionTags.FromVersion("next"));
        Assert.Contains("ContainerImageTagsFromVersion", ex.Message);
        Assert.Contains("'next'", ex.Message);
    }
}
