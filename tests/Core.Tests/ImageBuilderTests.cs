using Sdk.Containers.Building;
using Sdk.Containers.Images;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Tests;

/// <summary>ImageBuilder: one live config, and a creation time resolved once, before the image is built.</summary>
public class ImageBuilderTests
{
    [Fact]
    public void WhatConfigShowsIsWhatBuildWrites()
    {
        var builder = ImageBuilder.FromScratch(new Platform { Os = "linux", Architecture = "amd64" }, ImageFormat.Oci);
        builder.SetEnvironmentVariable("A", "1").SetEnvironmentVariable("A", "2").SetLabel("l", "v").AddExposedPort("8080/tcp").AddExposedPort("53/udp").SetWorkingDirectory("/app");

        Assert.Equal(["A=2"], builder.Config.Env);
        Assert.Equal("v", builder.Config.Labels!["l"]);
        Assert.Equal("2", builder.GetEnvironmentVariable("A"));
        var built = builder.Build().Config.Config!;
        Assert.Equal(builder.Config.Env, built.Env);
        Assert.Equal(builder.Config.Labels, built.Labels);
        Assert.Equal(["53/udp", "8080/tcp"], built.ExposedPorts);
        Assert.Equal("/app", built.WorkingDir);
    }

    [Fact]
    public async Task TheCreatedTimeIsKeptWhenNothingElseChangedAndStampsTheLabels()
    {
        using var work = new TempDirectory();
        var cache = new BuildCache(new BlobStore(work.Combine("cache")));
        ImageBuilder Builder(string value)
        {
            var builder = ImageBuilder.FromScratch(new Platform { Os = "linux", Architecture = "amd64" }, ImageFormat.Oci);
            builder.SetLabel("app", value);
            builder.CreatedLabels.Add("org.opencontainers.image.created");
            return builder;
        }

        var first = Builder("1");
        await CreatedTime.StampAsync(first, DateTimeOffset.UnixEpoch, cache, CancellationToken.None);
        var image = first.Build();
        var again = Builder("1");
        await CreatedTime.StampAsync(again, DateTimeOffset.UnixEpoch, cache, CancellationToken.None);
        Assert.Equal(image.ManifestDigest, again.Build().ManifestDigest);
        Assert.Equal(image.Config.Created, image.Config.Config!.Labels!["org.opencontainers.image.created"]);

        var changed = Builder("2");
        changed.Created = DateTimeOffset.UnixEpoch;
        var before = changed.Build().Config.Created;
        await CreatedTime.StampAsync(changed, DateTimeOffset.UnixEpoch, cache, CancellationToken.None);
        Assert.NotEqual(before, changed.Build().Config.Created);
    }
}
