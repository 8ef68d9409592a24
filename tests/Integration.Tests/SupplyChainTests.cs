using System.Text;
using System.Text.Json;
using Sdk.Containers.Images;
using Sdk.Containers.Publishing;
using Sdk.Containers.References;
using Sdk.Containers.Registry;
using Sdk.Containers.Supply;

namespace Sdk.Containers.Integration;

/// <summary>
/// SBOM and provenance pushed as OCI referrers to a registry without the referrers API (distribution 2.8): the
/// referrers tag schema, read back by our CLI, and the image itself untouched for skopeo and Docker.
/// </summary>
[Collection(EnvironmentCollection.Name)]
public sealed class SupplyChainTests(TestEnvironment env, RegistryFixture registry) : IClassFixture<RegistryFixture>
{
    private static ContainerPublishRequest Request(TempDirectory work, string host, string repository) => new()
    {
        PublishDirectory = work.Combine("publish"),
        BaseImage = $"{host}/dotnet/runtime:10.0",
        AssemblyName = "app",
        Registry = host,
        Repository = repository,
        Tags = ["1.0"],
        Created = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000),
        SourceRepositoryUrl = "https://github.com/example/app",
        SourceRevision = "89abcdef0123456789abcdef0123456789abcdef",
    };

    private static TempDirectory App()
    {
        var work = new TempDirectory();
        work.WriteFile("publish/app.dll", "IL");
        work.WriteFile("publish/app.runtimeconfig.json", """{"runtimeOptions":{"tfm":"net10.0","framework":{"name":"Microsoft.NETCore.App","version":"10.0.0"}}}""");
        work.WriteFile("publish/app.deps.json", """
            {"runtimeTarget":{"name":".NETCoreApp,Version=v10.0","signature":""},
             "targets":{".NETCoreApp,Version=v10.0":{
               "app/1.2.3":{"dependencies":{"Humanizer.Core":"2.14.1"},"runtime":{"app.dll":{}}},
               "Humanizer.Core/2.14.1":{"runtime":{"lib/net6.0/Humanizer.dll":{}}}}},
             "libraries":{
               "app/1.2.3":{"type":"project","serviceable":false,"sha512":""},
               "Humanizer.Core/2.14.1":{"type":"package","serviceable":true,"sha512":"sha512-yhlUp8YpIkS7tG9m5kmmNr9qCnMWn8rOsVyG2AJCi6x8WjwUmd8ifc/1oXGA2Bm2V0eJdtdHmKrz8h+PmMdRVA==","path":"humanizer.core/2.14.1","hashPath":"humanizer.core.2.14.1.nupkg.sha512"}}}
            """);
        return work;
    }

    private static async Task<ContainerPublishResult> PublishAsync(ContainerPublishRequest request, string cache)
    {
        using var services = ImageServices.Create(cache, new RegistryOptions(), new RecordingLog());
        return await new ContainerPublisher(services).PublishAsync(request, CancellationToken.None);
    }

    [Fact]
    public async Task APushAttachesAnSbomAndProvenanceAsReferrersThatToolsFindAndTheImageStaysAsItWas()
    {
        env.Require();
        using var work = App();
        var host = registry.Server.Host;
        var result = await PublishAsync(Request(work, host, "supply/app"), work.Combine("cache"));
        var digest = result.Image.ManifestDigest;

        // The referrers tag schema: an OCI index at sha256-<hex> that lists both documents by artifactType.
        using var session = new RegistrySession(new RegistryOptions(), NullBuildLog.Instance);
        var repository = session.For(host).ForPull("supply/app");
        var tagged = await repository.Manifests.GetAsync(Referrer.FallbackTag(digest), CancellationToken.None);
        Assert.NotNull(tagged);
        Assert.Equal(MediaTypes.OciIndex, tagged.MediaType);
        var listed = ImageJson.ParseIndex(tagged.Bytes, "referrers tag").Manifests;
        Assert.Equal(["application/spdx+json", ProvenanceStatement.MediaType], listed.Select(d => d.ArtifactType!).Order(StringComparer.Ordinal));
        var reader = new ReferrersReader(repository);
        foreach (var descriptor in listed)
        {
            var referrer = await reader.ReadAsync(descriptor, CancellationToken.None);
            Assert.Equal(digest, referrer.Subject.Digest);
            Assert.Equal(descriptor.ArtifactType, referrer.Manifest.ArtifactType);
        }

        // The SBOM: SPDX 2.3 that the schema accepts, with the app's package (and its SHA-512) and the base's Debian
        // packages (the test base images record them in var/lib/dpkg/status, as Debian's do).
        var sbom = await reader.ReadAsync(listed.Single(d => d.ArtifactType == "application/spdx+json"), CancellationToken.None);
        var sbomText = Encoding.UTF8.GetString(sbom.Document);
        var errors = (await NJsonSchema.JsonSchema.FromFileAsync(Path.Combine(RepoPaths.Shared, "conformance", "sbom", "spdx-2.3.schema.json"))).Validate(sbomText);
        Assert.True(errors.Count == 0, string.Join("; ", errors.Select(e => $"{e.Path}: {e.Kind}")));
        Assert.Contains("pkg:nuget/Humanizer.Core@2.14.1", sbomText, StringComparison.Ordinal);
        Assert.Contains("pkg:deb/debian/libc6@", sbomText, StringComparison.Ordinal);

        // The image is pulled and copied as before.
        using (var inspect = JsonDocument.Parse(TestEnvironment.Run("/usr/bin/skopeo", ["inspect", "--tls-verify=false", $"docker://{host}/supply/app:1.0"]).AssertSuccess().StandardOutput))
        {
            Assert.Equal(digest.ToString(), inspect.RootElement.GetProperty("Digest").GetString());
        }

        var copied = work.Combine("copied");
        TestEnvironment.Run("/usr/bin/skopeo", ["copy", "--src-tls-verify=false", $"docker://{host}/supply/app:1.0", $"oci:{copied}:1.0"]).AssertSuccess();
        var copiedIndex = ImageJson.ParseIndex(File.ReadAllBytes(Path.Combine(copied, "index.json")), "index.json");
        Assert.Equal(digest, Assert.Single(copiedIndex.Manifests).Digest);
        env.Docker("pull", $"{host}/supply/app:1.0").AssertSuccess("docker pull of the image with referrers");

        // Our CLI lists them and prints each document.
        var listing = TestEnvironment.Cli(["inspect", $"{host}/supply/app:1.0", "--cache", work.Combine("cli-cache")]).AssertSuccess().StandardOutput;
        Assert.Contains("application/spdx+json", listing, StringComparison.Ordinal);
        Assert.Contains(ProvenanceStatement.MediaType, listing, StringComparison.Ordinal);
        var provenance = TestEnvironment.Cli(["inspect", $"{host}/supply/app:1.0", "--provenance", "--cache", work.Combine("cli-cache")]).AssertSuccess().StandardOutput;
        using (var statement = JsonDocument.Parse(provenance))
        {
            var baseDigest = result.Image.Manifest.Annotations![ImageAnnotations.BaseDigest];
            var dependencies = statement.RootElement.GetProperty("predicate").GetProperty("buildDefinition").GetProperty("resolvedDependencies").EnumerateArray().ToArray();
            Assert.Contains(dependencies, d => "sha256:" + d.GetProperty("digest").GetProperty("sha256").GetString() == baseDigest);
            Assert.Contains(dependencies, d => d.GetProperty("digest").TryGetProperty("gitCommit", out var c) && c.GetString() == "89abcdef0123456789abcdef0123456789abcdef");
        }

        // copy carries the documents to the new repository; --sbom=false leaves the SBOM behind.
        TestEnvironment.Cli(["copy", $"{host}/supply/app:1.0", $"{host}/supply/copy:1.0", "--cache", work.Combine("cli-cache")]).AssertSuccess();
        var copyListed = await new ReferrersReader(session.For(host).ForPull("supply/copy")).ListAsync(digest, CancellationToken.None);
        Assert.Equal(listed.Select(d => d.Digest.ToString()).Order(StringComparer.Ordinal), copyListed.Select(d => d.Digest.ToString()).Order(StringComparer.Ordinal));
        TestEnvironment.Cli(["copy", $"{host}/supply/app:1.0", $"{host}/supply/nosbom:1.0", "--sbom=false", "--cache", work.Combine("cli-cache")]).AssertSuccess();
        var provenanceOnly = await new ReferrersReader(session.For(host).ForPull("supply/nosbom")).ListAsync(digest, CancellationToken.None);
        Assert.Equal([ProvenanceStatement.MediaType], provenanceOnly.Select(d => d.ArtifactType!));
    }

    [Fact]
    public async Task AnImageOnABaseWithAnSbomLinksTheBasesSbom()
    {
        env.Require();
        using var work = App();
        var host = registry.Server.Host;
        var first = await PublishAsync(Request(work, host, "supply/base"), work.Combine("cache"));
        using var session = new RegistrySession(new RegistryOptions(), NullBuildLog.Instance);
        var baseSbom = (await new ReferrersReader(session.For(host).ForPull("supply/base")).ListAsync(first.Image.ManifestDigest, CancellationToken.None))
            .Single(d => d.ArtifactType == "application/spdx+json");

        var onTop = await PublishAsync(Request(work, host, "supply/ontop") with { BaseImage = $"{host}/supply/base:1.0" }, work.Combine("cache"));
        var repository = session.For(host).ForPull("supply/ontop");
        var reader = new ReferrersReader(repository);
        var sbom = await reader.ReadAsync((await reader.ListAsync(onTop.Image.ManifestDigest, CancellationToken.None)).Single(d => d.ArtifactType == "application/spdx+json"), CancellationToken.None);
        Assert.Contains(baseSbom.Digest.ToString(), Encoding.UTF8.GetString(sbom.Document), StringComparison.Ordinal);
    }

    [Fact]
    public void AnMsBuildPushRecordsTheSourceRevisionAndNoCredentialOfTheRepositoryUrl()
    {
        env.Require();
        using var work = new TempDirectory();
        var host = registry.Server.Host;
        var project = env.CopySample("hello");
        env.Publish(project, [
            "-p:PublishContainer=true",
            $"-p:ContainerBaseImage={host}/dotnet/runtime:10.0",
            $"-p:ContainerRegistry={host}",
            "-p:ContainerRepository=supply/msbuild",
            "-p:ContainerProvenance=max",
            "-p:RepositoryUrl=https://ci-bot:tok3n-in-the-url@git.example.com/team/hello.git",
            "-p:SourceRevisionId=fedcba9876543210fedcba9876543210fedcba98",
        ]).AssertSuccess();

        var provenance = TestEnvironment.Cli(["inspect", $"{host}/supply/msbuild:latest", "--provenance", "--cache", work.Combine("cache")]).AssertSuccess().StandardOutput;
        Assert.Contains("\"gitCommit\":\"fedcba9876543210fedcba9876543210fedcba98\"", provenance, StringComparison.Ordinal);
        Assert.Contains("git+https://git.example.com/team/hello.git", provenance, StringComparison.Ordinal);
        Assert.DoesNotContain("tok3n-in-the-url", provenance, StringComparison.Ordinal);
        Assert.Contains("/app/hello.dll", provenance, StringComparison.Ordinal);

        // The SBOM of a real publish: the app from its deps.json, the runtime the base holds, the base's packages.
        var sbom = TestEnvironment.Cli(["inspect", $"{host}/supply/msbuild:latest", "--sbom", "--cache", work.Combine("cache")]).AssertSuccess().StandardOutput;
        Assert.Contains("pkg:deb/debian/libc6@", sbom, StringComparison.Ordinal);
        using var spdx = JsonDocument.Parse(sbom);
        Assert.Contains(spdx.RootElement.GetProperty("packages").EnumerateArray(), p => p.GetProperty("name").GetString() == "hello");
    }

    [Fact]
    public async Task TheSameInputsGiveTheSameDocumentsAndARepushListsThemOnce()
    {
        env.Require();
        using var work = App();
        var host = registry.Server.Host;
        var first = await PublishAsync(Request(work, host, "supply/same"), work.Combine("cache-a"));
        var second = await PublishAsync(Request(work, host, "supply/same"), work.Combine("cache-b"));
        Assert.Equal(first.Image.ManifestDigest, second.Image.ManifestDigest);

        using var session = new RegistrySession(new RegistryOptions(), NullBuildLog.Instance);
        var listed = await new ReferrersReader(session.For(host).ForPull("supply/same")).ListAsync(first.Image.ManifestDigest, CancellationToken.None);
        Assert.Equal(2, listed.Count);
    }

    [Fact]
    public async Task ContainerSbomFalseAndProvenanceFalseAttachNothing()
    {
        env.Require();
        using var work = App();
        var host = registry.Server.Host;
        var result = await PublishAsync(Request(work, host, "supply/none") with { Sbom = "false", Provenance = "false" }, work.Combine("cache"));
        using var session = new RegistrySession(new RegistryOptions(), NullBuildLog.Instance);
        Assert.Null(await session.For(host).ForPull("supply/none").Manifests.GetAsync(Referrer.FallbackTag(result.Image.ManifestDigest), CancellationToken.None));
    }
}
