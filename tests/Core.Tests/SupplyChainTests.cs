using System.Text;
using System.Text.Json;
using Sdk.Containers.Archives;
using Sdk.Containers.Building;
using Sdk.Containers.Images;
using Sdk.Containers.Publishing;
using Sdk.Containers.Sources;
using Sdk.Containers.Storage;
using Sdk.Containers.Supply;

namespace Sdk.Containers.Tests;

/// <summary>Annotations, provenance, and documents attached to an image as OCI referrers in a layout.</summary>
public class SupplyChainTests
{
    private static async Task<(TempDirectory Work, string BaseLayout, Image Base)> MakeBaseAsync()
    {
        var work = new TempDirectory();
        var store = new BlobStore(work.Combine("cache"));
        var baseImage = await TestImages.BuildAsync(work, store);
        var layout = work.Combine("base");
        await OciLayoutWriter.WriteAsync(baseImage, References.ImageReference.Parse("runtime"), layout, CancellationToken.None);
        work.WriteFile("publish/hello.dll", "IL");
        work.WriteFile("publish/hello.runtimeconfig.json", "{}");
        return (work, layout, baseImage);
    }

    private static ContainerPublishRequest Request(TempDirectory work, string layout, string output) => new()
    {
        PublishDirectory = work.Combine("publish"),
        BaseImage = $"oci:{layout}:runtime",
        AssemblyName = "Hello",
        OciLayoutOutputPath = output,
        Created = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000),
    };

    [Fact]
    public async Task AnOciImageNamesItsBaseDigestAndCarriesTheUsersAnnotations()
    {
        var (work, layout, baseImage) = await MakeBaseAsync();
        using var _ = work;
        var result = await new ContainerPublisher(TestServices.For(work.Combine("cache"))).PublishAsync(Request(work, layout, work.Combine("out")) with
        {
            Annotations = [new("org.opencontainers.image.source", "https://example.com/app"), new("com.example.team", "payments")],
        }, CancellationToken.None);

        var annotations = result.Image.Manifest.Annotations!;
        Assert.Equal(baseImage.ManifestDigest.ToString(), annotations[ImageAnnotations.BaseDigest]);

        // A base read from a layout on this machine has no name others could pull: buildx leaves base.name out too.
        Assert.False(annotations.ContainsKey(ImageAnnotations.BaseName));
        Assert.Equal("https://example.com/app", annotations["org.opencontainers.image.source"]);
        Assert.Equal("payments", annotations["com.example.team"]);
        await OciSchemas.AssertValidManifestAsync(Encoding.UTF8.GetString(result.Image.ManifestBytes));

        var plain = await new ContainerPublisher(TestServices.For(work.Combine("cache"))).PublishAsync(Request(work, layout, work.Combine("out2")) with { BaseImageAnnotations = false }, CancellationToken.None);
        Assert.Null(plain.Image.Manifest.Annotations);
    }

    [Fact]
    public async Task AnnotationsOnADockerFormatImageAreAnErrorThatSaysToUseOci()
    {
        var (work, layout, _) = await MakeBaseAsync();
        using var __ = work;
        var error = await Assert.ThrowsAsync<ContainerException>(() => new ContainerPublisher(TestServices.For(work.Combine("cache"))).PublishAsync(Request(work, layout, work.Combine("out")) with
        {
            Format = ImageFormat.Docker,
            Annotations = [new("com.example.team", "payments")],
        }, CancellationToken.None));
        Assert.Equal(ErrorCodes.AnnotationsNeedOci, error.Code);
        Assert.Contains("ContainerImageFormat to OCI", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnnotationFlagsTakeBuildxPrefixes()
    {
        var set = AnnotationSet.Parse(["a.b=1", "manifest:c.d=2", "index:e.f=x=y"], "--annotation");
        Assert.Equal(new Dictionary<string, string> { ["a.b"] = "1", ["c.d"] = "2" }, set.Manifest);
        Assert.Equal(new Dictionary<string, string> { ["e.f"] = "x=y" }, set.Index);
        Assert.Equal(ErrorCodes.InvalidAnnotation, Assert.Throws<ContainerException>(() => AnnotationSet.Parse(["layer:a=1"], "--annotation")).Code);
        Assert.Equal(ErrorCodes.InvalidAnnotation, Assert.Throws<ContainerException>(() => AnnotationSet.Parse(["novalue"], "--annotation")).Code);
        Assert.Equal(ErrorCodes.InvalidAnnotation, Assert.Throws<ContainerException>(() => AnnotationSet.Parse(["index:=1"], "--annotation")).Code);
    }

    [Fact]
    public void AttachmentsDefaultOnForPushesOnlyAndRejectUnknownValues()
    {
        Assert.Equal(new AttachmentOptions(SbomFormat.Spdx, ProvenanceMode.Min, null), AttachmentOptions.Resolve(null, null, null, pushes: true));
        Assert.Equal(AttachmentOptions.None, AttachmentOptions.Resolve("", "", null, pushes: false));
        Assert.Equal(new AttachmentOptions(SbomFormat.CycloneDx, ProvenanceMode.Max, null) { SbomAsked = true }, AttachmentOptions.Resolve("cyclonedx", "mode=max", null, pushes: false));
        Assert.Equal(new AttachmentOptions(null, null, null), AttachmentOptions.Resolve("false", "false", null, pushes: true));

        // Asking for a folder of documents asks for the SBOM even where no output holds it.
        Assert.Equal(new AttachmentOptions(SbomFormat.Spdx, null, "/tmp/x"), AttachmentOptions.Resolve(null, null, "/tmp/x", pushes: false));
        var error = Assert.Throws<ContainerException>(() => AttachmentOptions.Resolve("syft", null, null, pushes: true));
        Assert.Equal(ErrorCodes.InvalidAttachment, error.Code);
        Assert.Contains("ContainerSbom is 'syft'", error.Message, StringComparison.Ordinal);
        Assert.Equal(ErrorCodes.InvalidAttachment, Assert.Throws<ContainerException>(() => AttachmentOptions.Resolve(null, "full", null, pushes: true)).Code);
    }

    [Fact]
    public async Task AReferrerIsAnOciArtifactManifestAboutTheImage()
    {
        var (work, _, baseImage) = await MakeBaseAsync();
        using var __ = work;
        var document = "{\"spdxVersion\":\"SPDX-2.3\"}"u8.ToArray();
        var referrer = Referrer.Create(baseImage, "application/spdx+json", document, DateTimeOffset.FromUnixTimeSeconds(1_700_000_000));

        await OciSchemas.AssertValidManifestAsync(Encoding.UTF8.GetString(referrer.ManifestBytes));
        Assert.Equal("application/spdx+json", referrer.Manifest.ArtifactType);
        Assert.Equal("application/vnd.oci.empty.v1+json", referrer.Manifest.Config.MediaType);
        Assert.Equal("sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", referrer.Manifest.Config.Digest.ToString());
        Assert.Equal(baseImage.ManifestDigest, referrer.Manifest.Subject!.Digest);
        Assert.Equal(baseImage.ManifestBytes.Length, referrer.Manifest.Subject.Size);
        Assert.Equal(Digests.Digest.Compute(document), Assert.Single(referrer.Manifest.Layers).Digest);
        Assert.Equal($"sha256-{baseImage.ManifestDigest.Hex}", Referrer.FallbackTag(baseImage.ManifestDigest));
        Assert.Equal("application/spdx+json", referrer.Descriptor.ArtifactType);
    }

    [Fact]
    public async Task ProvenanceInALayoutIsReproducibleNamesBaseAndSourceAndHoldsNoCredential()
    {
        var (work, layout, baseImage) = await MakeBaseAsync();
        using var _ = work;
        var request = Request(work, layout, work.Combine("out")) with
        {
            Sbom = "false",
            Provenance = "max",
            Tags = ["1.0"],
            SourceRepositoryUrl = "https://ci-bot:s3cr3t-token@git.example.com/team/hello.git",
            SourceRevision = "0123456789abcdef0123456789abcdef01234567",
            EnvironmentVariables = [new("DB_PASSWORD", "hunter2-in-env")],
        };
        var result = await new ContainerPublisher(TestServices.For(work.Combine("cache"))).PublishAsync(request, CancellationToken.None);

        var index = ImageJson.ParseIndex(File.ReadAllBytes(work.Combine("out", "index.json")), "index.json");
        await OciSchemas.AssertValidIndexAsync(File.ReadAllText(work.Combine("out", "index.json")));
        var attached = Assert.Single(index.Manifests, d => d.ArtifactType is not null);
        Assert.Equal(ProvenanceStatement.MediaType, attached.ArtifactType);
        var manifest = ImageJson.ParseManifest(File.ReadAllBytes(work.Combine("out", "blobs", "sha256", attached.Digest.Hex)), "referrer");
        Assert.Equal(result.Image.ManifestDigest, manifest.Subject!.Digest);
        var statementBytes = File.ReadAllBytes(work.Combine("out", "blobs", "sha256", manifest.Layers[0].Digest.Hex));
        var text = Encoding.UTF8.GetString(statementBytes);
        Assert.DoesNotContain("s3cr3t", text, StringComparison.Ordinal);
        Assert.DoesNotContain("ci-bot", text, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", text, StringComparison.Ordinal);

        using var statement = JsonDocument.Parse(statementBytes);
        var root = statement.RootElement;
        Assert.Equal("https://in-toto.io/Statement/v1", root.GetProperty("_type").GetString());
        Assert.Equal("https://slsa.dev/provenance/v1", root.GetProperty("predicateType").GetString());
        Assert.Equal(result.Image.ManifestDigest.Hex, root.GetProperty("subject")[0].GetProperty("digest").GetProperty("sha256").GetString());
        var dependencies = root.GetProperty("predicate").GetProperty("buildDefinition").GetProperty("resolvedDependencies").EnumerateArray().ToArray();
        Assert.Contains(dependencies, d => d.GetProperty("digest").TryGetProperty("sha256", out var h) && h.GetString() == baseImage.ManifestDigest.Hex);
        var source = Assert.Single(dependencies, d => d.GetProperty("uri").GetString()!.StartsWith("git+", StringComparison.Ordinal));
        Assert.Equal("git+https://git.example.com/team/hello.git", source.GetProperty("uri").GetString());
        Assert.Equal("0123456789abcdef0123456789abcdef01234567", source.GetProperty("digest").GetProperty("gitCommit").GetString());

        // max: the app's layer with the files it holds.
        var byproducts = root.GetProperty("predicate").GetProperty("runDetails").GetProperty("byproducts").EnumerateArray().ToArray();
        Assert.Contains(byproducts, b => b.GetProperty("annotations").GetProperty("files").EnumerateArray().Any(f => f.GetString() == "/app/hello.dll"));

        // Tools that read the layout by tag, and our own loader, still find exactly the image.
        var loaded = await new ImageLoader(new BlobStore(work.Combine("cache"))).LoadAllAsync(new ImageSource(ImageTransport.OciLayout, work.Combine("out"), null), CancellationToken.None);
        Assert.Equal(result.Image.ManifestDigest, Assert.Single(loaded).Image.ManifestDigest);

        // The same inputs in another cache and layout: the same statement, byte for byte.
        var again = await new ContainerPublisher(TestServices.For(work.Combine("cache2"))).PublishAsync(request with { OciLayoutOutputPath = work.Combine("out2") }, CancellationToken.None);
        Assert.Equal(result.Image.ManifestDigest, again.Image.ManifestDigest);
        var againIndex = ImageJson.ParseIndex(File.ReadAllBytes(work.Combine("out2", "index.json")), "index.json");
        Assert.Equal(attached.Digest, Assert.Single(againIndex.Manifests, d => d.ArtifactType is not null).Digest);
    }
}
