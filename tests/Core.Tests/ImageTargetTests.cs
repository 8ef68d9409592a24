using System.Formats.Tar;
using System.Text.Json;
using Sdk.Containers.Images;
using Sdk.Containers.Targets;
using Sdk.Containers.References;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Tests;

/// <summary>The one way out for images: targets, their decorators, and how names are written.</summary>
public class ImageTargetTests
{
    private static readonly DateTimeOffset Epoch = DateTimeOffset.FromUnixTimeSeconds(1);

    [Theory]
    [InlineData("app:1", "app:1", "docker.io/library/app:1")]
    [InlineData("team/app:1", "team/app:1", "docker.io/team/app:1")]
    [InlineData("docker.io/library/app", "app:latest", "docker.io/library/app:latest")]
    [InlineData("localhost:5000/team/app:2", "localhost:5000/team/app:2", "localhost:5000/team/app:2")]
    [InlineData("docker.io/library/team/app:3", "library/team/app:3", "docker.io/library/team/app:3")]
    public void NamesHaveOneFamiliarAndOneFullForm(string given, string familiar, string full)
    {
        var reference = ImageReference.Parse(given);
        Assert.Equal(familiar, reference.FamiliarName);
        Assert.Equal(familiar, reference.RepoTag);
        Assert.Equal(full, reference.ToString());
    }

    [Fact]
    public void ANameWithADigestAndNoTagIsNoRepoTag()
    {
        var reference = ImageReference.Parse("localhost:5000/app@sha256:" + new string('a', 64));
        Assert.Null(reference.RepoTag);
        Assert.Equal("localhost:5000/app:1", ImageReference.Parse("localhost:5000/app:1@sha256:" + new string('a', 64)).RepoTag);
    }

    [Fact]
    public void ARepositoryOnARegistryIsNamedWithIt()
    {
        Assert.Equal("localhost:5000/team/app:1", ImageReference.Of("localhost:5000", "team/app", "1").ToString());
        Assert.Equal("docker.io/library/app:1", ImageReference.Of(null, "app", "1").ToString());

        // An intranet host with no dot or port is still the registry (parsing "registry/app" would make it a Hub path).
        Assert.Equal(new ImageReference("registry", "app", "1", null), ImageReference.Of("registry", "app", "1"));
        Assert.Equal("registry/team/app:1", ImageReference.Of("registry", "team/app", "1").FamiliarName);
        Assert.Equal("docker.io/library/app:1", ImageReference.Of("index.docker.io", "app", "1").ToString());
    }

    [Fact]
    public async Task AnArchiveThatAlreadyHoldsTheImageIsNotWrittenAgainUntilItChanges()
    {
        using var work = new TempDirectory();
        var store = new BlobStore(work.Combine("cache"));
        var cache = new BuildCache(store);
        var image = await TestImages.BuildAsync(work, store);
        var path = work.Combine("out.tar");
        var log = new RecordingLog();
        var counting = new CountingTarget(new DockerArchiveTarget(path, Epoch, log));
        var target = new UpToDateFileTarget(counting, path, cache, Epoch, log);
        ImageReference[] names = [ImageReference.Parse("app:1")];

        await target.WriteAsync(ImageArtifact.Of(image), names, CancellationToken.None);
        await target.WriteAsync(ImageArtifact.Of(image), names, CancellationToken.None);
        Assert.Equal(1, counting.Writes);
        Assert.Contains(log.Lines, l => l.Contains("is up to date", StringComparison.Ordinal));

        // Another name, or a file changed behind our back, is written again.
        await target.WriteAsync(ImageArtifact.Of(image), [ImageReference.Parse("app:2")], CancellationToken.None);
        Assert.Equal(2, counting.Writes);
        File.WriteAllText(path, "not an archive");
        await target.WriteAsync(ImageArtifact.Of(image), [ImageReference.Parse("app:2")], CancellationToken.None);
        Assert.Equal(3, counting.Writes);
        Assert.True(new FileInfo(path).Length > 1024);
    }

    [Fact]
    public async Task TheFallbackTarballIsWrittenThenWarnedAbout()
    {
        using var work = new TempDirectory();
        var store = new BlobStore(work.Combine("cache"));
        var image = await TestImages.BuildAsync(work, store);
        var path = work.Combine("fallback.tar");
        var log = new RecordingLog();
        var result = await new EngineFallbackTarget(new DockerArchiveTarget(path, Epoch, log), path, "podman", log)
            .WriteAsync(ImageArtifact.Of(image), [ImageReference.Parse("app:1")], CancellationToken.None);

        Assert.Equal(path, result.ArchivePath);
        Assert.True(File.Exists(path));
        Assert.StartsWith(ErrorCodes.EngineFallback, log.Lines[^1], StringComparison.Ordinal);
        Assert.Contains("No podman engine answered", log.Lines[^1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnIndexGoesOnlyWhereAnIndexFits()
    {
        using var work = new TempDirectory();
        var amd = InMemoryImages.Random(seed: 1);
        var arm = InMemoryImages.Random(seed: 1, platform: new Platform { Os = "linux", Architecture = "arm64" });
        var index = ImageArtifact.IndexOf([amd, arm]);
        var log = new RecordingLog();
        ImageReference[] names = [ImageReference.Parse("localhost:5000/team/multi:1")];

        var docker = await Assert.ThrowsAsync<ContainerException>(() => new DockerArchiveTarget(work.Combine("d.tar"), Epoch, log).WriteAsync(index, names, CancellationToken.None));
        Assert.Equal(ErrorCodes.InvalidOutput, docker.Code);
        Assert.False(File.Exists(work.Combine("d.tar")));
        await Assert.ThrowsAsync<ContainerException>(() => new OciLayoutTarget(work.Combine("layout"), log).WriteAsync(index, names, CancellationToken.None));

        // The oci-archive names the index as a single image is named: the full name, and the tag as ref.name.
        var archive = work.Combine("multi.tar");
        await new OciArchiveTarget(archive, Epoch, log).WriteAsync(index, names, CancellationToken.None);
        var entry = ReadIndexJson(archive).GetProperty("manifests")[0];
        Assert.Equal(index.Digest.ToString(), entry.GetProperty("digest").GetString());
        Assert.Equal("localhost:5000/team/multi:1", entry.GetProperty("annotations").GetProperty("io.containerd.image.name").GetString());
        Assert.Equal("1", entry.GetProperty("annotations").GetProperty("org.opencontainers.image.ref.name").GetString());

        // A rootfs gets one directory per platform.
        await new RootfsTarget(work.Combine("rootfs"), log).WriteAsync(index, names, CancellationToken.None);
        Assert.True(File.Exists(work.Combine("rootfs", "linux_amd64", "data", "1-0.bin")));
        Assert.True(File.Exists(work.Combine("rootfs", "linux_arm64", "data", "1-0.bin")));
    }

    [Fact]
    public async Task OciOutputsCarryOciMediaTypesAndTheSameImageId()
    {
        using var work = new TempDirectory();
        var store = new BlobStore(work.Combine("cache"));
        var image = await TestImages.BuildAsync(work, store, ImageFormat.Docker);
        var inner = new CountingTarget(new OciLayoutTarget(work.Combine("layout"), new RecordingLog()));
        await new OciMediaTypesTarget(inner, new RecordingLog()).WriteAsync(ImageArtifact.Of(image), [], CancellationToken.None);

        var written = Assert.Single(inner.Received);
        Assert.Equal(ImageFormat.Oci, written.Single!.Format);
        Assert.Equal(image.ConfigDigest, written.Single.ConfigDigest);
        Assert.NotEqual(image.ManifestDigest, written.Digest);
    }

    [Fact]
    public async Task AnOciOutputOfADockerImageRemakesItsDocumentsForTheNewDigestOrSaysTheyAreLeftOut()
    {
        using var work = new TempDirectory();
        var store = new BlobStore(work.Combine("cache"));
        var image = await TestImages.BuildAsync(work, store, ImageFormat.Docker);
        var created = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);
        IReadOnlyList<Supply.Referrer> About(Image subject) => [Supply.Referrer.Create(subject, "application/spdx+json", System.Text.Encoding.UTF8.GetBytes($"{{\"about\":\"{subject.ManifestDigest}\"}}"), created)];

        var log = new RecordingLog();
        var remade = new CountingTarget(new OciLayoutTarget(work.Combine("remade"), log));
        var artifact = ImageArtifact.Of(image).WithReferrers(About(image), (subject, _) => Task.FromResult(About(subject)));
        await new OciMediaTypesTarget(remade, log).WriteAsync(artifact, [], CancellationToken.None);
        var written = Assert.Single(remade.Received);
        var referrer = Assert.Single(written.Referrers);
        Assert.Equal(written.Digest, referrer.Subject.Digest);
        Assert.Contains(written.Digest.ToString(), System.Text.Encoding.UTF8.GetString(referrer.Document), StringComparison.Ordinal);
        Assert.DoesNotContain(log.Lines, l => l.StartsWith(ErrorCodes.DocumentsLeftOut, StringComparison.Ordinal));

        // Documents nothing can make again are left out, with a warning, never attached to a manifest not there.
        var leftOut = new CountingTarget(new OciLayoutTarget(work.Combine("left-out"), log));
        await new OciMediaTypesTarget(leftOut, log).WriteAsync(ImageArtifact.Of(image).WithReferrers(About(image)), [], CancellationToken.None);
        Assert.Empty(Assert.Single(leftOut.Received).Referrers);
        Assert.Contains(log.Lines, l => l.StartsWith(ErrorCodes.DocumentsLeftOut, StringComparison.Ordinal) && l.Contains("--format oci", StringComparison.Ordinal));
    }

    [Fact]
    public async Task APushNeedsAName()
    {
        var image = InMemoryImages.Random(seed: 3);
        using var registries = new Registry.RegistrySession(new Registry.RegistryOptions(), NullBuildLog.Instance);
        var error = await Assert.ThrowsAsync<ContainerException>(() => new RegistryTarget(registries, NullBuildLog.Instance).WriteAsync(ImageArtifact.Of(image), [], CancellationToken.None));
        Assert.Equal(ErrorCodes.InvalidOutput, error.Code);
    }

    private static JsonElement ReadIndexJson(string archive)
    {
        using var file = File.OpenRead(archive);
        using var tar = new TarReader(file);
        while (tar.GetNextEntry() is { } entry)
        {
            if (entry.Name == "index.json")
            {
                return JsonDocument.Parse(entry.DataStream!).RootElement.Clone();
            }
        }

        throw new InvalidDataException($"{archive} has no index.json");
    }

    private sealed class CountingTarget(IImageTarget inner) : IImageTarget
    {
        public int Writes => Received.Count;

        public List<ImageArtifact> Received { get; } = [];

        public Task<TargetResult> WriteAsync(ImageArtifact artifact, IReadOnlyList<ImageReference> names, CancellationToken cancellationToken)
        {
            Received.Add(artifact);
            return inner.WriteAsync(artifact, names, cancellationToken);
        }
    }

    private sealed class RecordingLog : IBuildLog
    {
        public List<string> Lines { get; } = [];

        public void Info(string message) => Lines.Add(message);

        public void Detail(string message) => Lines.Add(message);

        public void Warning(string code, string message) => Lines.Add($"{code}: {message}");
    }
}
