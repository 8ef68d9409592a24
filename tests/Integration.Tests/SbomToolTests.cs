using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Sdk.Containers.Images;
using Sdk.Containers.Sources;
using Sdk.Containers.Storage;
using Sdk.Containers.Supply;

namespace Sdk.Containers.Integration;

/// <summary>
/// Our SBOM of a published app against an independent reader: the CycloneDX .NET tool (installed by eng/test-env.sh),
/// which reads the project's packages from NuGet's assets file rather than the published deps file. Every package it
/// lists as part of the app must be in ours with the same purl; the ones it marks "excluded" (development-only, such
/// as SourceLink with PrivateAssets=all: not in the published app) must not be.
/// </summary>
public sealed class SbomToolTests
{
    private const string ToolVersion = "6.3.1";

    private static string ToolPath => Path.Combine(RepoPaths.Root, "artifacts", "tools", "cyclonedx", "dotnet-CycloneDX");

    [Fact]
    public async Task EveryRuntimePackageTheCycloneDxToolFindsIsInOurSbomAndNoDevelopmentOnlyOne()
    {
        Assert.True(File.Exists(ToolPath), $"The CycloneDX .NET tool is not at {ToolPath}. Run `bash eng/test-env.sh` (or `bash eng/test-env.sh --tools`), which installs it with `dotnet tool install CycloneDX --version {ToolVersion} --tool-path {Path.GetDirectoryName(ToolPath)}`.");
        using var env = new TestEnvironment();
        Assert.True(File.Exists(Path.Combine(env.BaseLayout, "index.json")), $"The test base images are missing from {env.BaseImages}. Build them with `bash eng/build-base-images.sh`.");
        using var work = new TempDirectory();

        var sample = work.Combine("sbomapp");
        TestEnvironment.Run("cp", ["-a", Path.Combine(RepoPaths.Root, "tests", "Integration.Tests", "Samples", "sbomapp"), sample]).AssertSuccess("copying the sample");
        var project = Path.Combine(sample, "app", "app.csproj");
        var publish = work.Combine("publish");
        TestEnvironment.Run("dotnet", ["publish", project, "-c", "Release", "-o", publish, "-nodeReuse:false", "-tl:off"], timeout: TimeSpan.FromMinutes(5)).AssertSuccess("dotnet publish");

        // The project's packages as the tool sees them; -ipr with --set-nuget-purl gives the project reference its
        // pkg:nuget purl, as ours does.
        TestEnvironment.Run(ToolPath, [project, "-o", work.Combine("tool"), "-fn", "bom.json", "-F", "Json", "-ipr", "--set-nuget-purl"], timeout: TimeSpan.FromMinutes(5)).AssertSuccess("the CycloneDX tool");
        var toolBom = JsonDocument.Parse(File.ReadAllBytes(work.Combine("tool", "bom.json"))).RootElement;
        var toolComponents = toolBom.GetProperty("components").EnumerateArray()
            .Select(c => (Purl: c.GetProperty("purl").GetString()!, Scope: c.TryGetProperty("scope", out var s) ? s.GetString() : null))
            .ToList();
        var required = toolComponents.Where(c => c.Scope != "excluded").Select(c => Uri.UnescapeDataString(c.Purl)).ToHashSet();
        var excluded = toolComponents.Where(c => c.Scope == "excluded").Select(c => Uri.UnescapeDataString(c.Purl)).ToHashSet();
        Assert.True(required.Count >= 15, $"The sample has 16 runtime packages and a project reference; the tool found only: {string.Join(", ", required)}");
        Assert.Contains("pkg:nuget/lib@2.1.0", required);
        Assert.Contains("pkg:nuget/Microsoft.SourceLink.GitHub@8.0.0", excluded);

        var store = new BlobStore(work.Combine("store"));
        var platform = new Platform { Os = "linux", Architecture = RuntimeInformation.OSArchitecture == Architecture.Arm64 ? "arm64" : "amd64" };
        var baseImage = (await new ImageLoader(store).LoadAsync(ImageSource.Parse($"oci:{env.BaseLayout}:runtime"), platform, CancellationToken.None)).Image;
        var inventory = await PublishInventory.ReadAsync(publish, "app", "1.0.0", "app", "localhost:5000/dotnet/runtime:10.0", baseImage, store, CancellationToken.None);
        var subject = new SbomSubject("localhost:5000/app:1.0.0", Digests.Digest.Compute("the app image"u8), platform, DateTimeOffset.UnixEpoch);
        var spdx = Encoding.UTF8.GetString(SbomDocument.Write(SbomFormat.Spdx, inventory, subject));
        var cyclone = Encoding.UTF8.GetString(SbomDocument.Write(SbomFormat.CycloneDx, inventory, subject));
        await SbomSchemas.AssertValidSpdxAsync(spdx);
        await SbomSchemas.AssertValidCycloneDxAsync(cyclone);

        var ours = JsonDocument.Parse(cyclone).RootElement.GetProperty("components").EnumerateArray()
            .Where(c => c.TryGetProperty("purl", out _)).Select(c => Uri.UnescapeDataString(c.GetProperty("purl").GetString()!)).ToHashSet();
        var spdxPurls = JsonDocument.Parse(spdx).RootElement.GetProperty("packages").EnumerateArray()
            .SelectMany(p => p.TryGetProperty("externalRefs", out var refs) ? refs.EnumerateArray().Select(r => Uri.UnescapeDataString(r.GetProperty("referenceLocator").GetString()!)) : [])
            .ToHashSet();
        var missing = required.Where(p => !ours.Contains(p)).ToList();
        Assert.True(missing.Count == 0, $"Our CycloneDX SBOM lacks what the tool lists: {string.Join(", ", missing)}\nours: {string.Join(", ", ours.Order())}");
        Assert.True(required.IsSubsetOf(spdxPurls), $"Our SPDX SBOM lacks {string.Join(", ", required.Except(spdxPurls))}");
        Assert.Empty(excluded.Intersect(ours));

        // The checksum is NuGet's content hash (what deps.json carries, the signature left out), as the global
        // packages folder records it in .nupkg.metadata; the tool hashes the signed .nupkg file instead.
        var packages = Path.Combine(Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages"));
        var newtonsoft = inventory.Components.Single(c => c.Purl == "pkg:nuget/Newtonsoft.Json@13.0.3");
        using var metadata = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(packages, "newtonsoft.json", "13.0.3", ".nupkg.metadata")));
        Assert.Equal(Convert.ToHexStringLower(Convert.FromBase64String(metadata.RootElement.GetProperty("contentHash").GetString()!)), newtonsoft.Checksums.Single(c => c.Algorithm == ChecksumAlgorithm.Sha512).Hex);

        // The runtime is the one in the base image, as tar (another reader) lists the base's layers.
        var versions = baseImage.Layers
            .SelectMany(l => TestEnvironment.Run("tar", ["-tf", l.BlobPath]).AssertSuccess("tar -t").StandardOutput.Split('\n'))
            .Select(line => line.TrimStart('.', '/').Split('/'))
            .Where(p => p.Length > 6 && string.Join('/', p[..5]) == "usr/share/dotnet/shared/Microsoft.NETCore.App" && p[5].Length > 0)
            .Select(p => p[5]).ToHashSet();
        var runtime = Assert.Single(inventory.OfKind(SoftwareKind.Framework), f => f.Name == "Microsoft.NETCore.App");
        Assert.Contains(runtime.Version!, versions);
        Assert.Contains(new SoftwareRelationship("pkg:nuget/app@1.0.0", RelationshipKind.DependsOn, runtime.Ref), inventory.Relationships);
    }
}
