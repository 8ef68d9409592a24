using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Sdk.Containers.Building;
using Sdk.Containers.Digests;
using Sdk.Containers.Images;
using Sdk.Containers.Layers;
using Sdk.Containers.Storage;
using Sdk.Containers.Supply;

namespace Sdk.Containers.Tests;

/// <summary>SBOM documents (SPDX 2.3, CycloneDX 1.6) of a published app on a base, and of an image's file system:
/// what they list, that they validate against the formats' own schemas, that the same input gives the same bytes.</summary>
public sealed class SbomTests
{
    private static readonly Platform Amd64 = new() { Os = "linux", Architecture = "amd64" };
    private static readonly DateTimeOffset Created = new(2026, 1, 2, 3, 4, 5, 678, TimeSpan.FromHours(2));

    private const string OsRelease = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n";

    private const string DpkgStatus = """
        Package: libc6
        Status: install ok installed
        Priority: optional
        Architecture: amd64
        Version: 2.36-9+deb12u9
        Description: GNU C Library: Shared libraries
         Contains the standard libraries that are used by nearly all programs on
         the system.

        Package: oldtool
        Status: deinstall ok config-files
        Architecture: amd64
        Version: 1.0-1

        Package: tzdata
        Status: hold ok installed
        Architecture: all
        Version: 2024a-0+deb12u1

        Package: halfdone
        Status: install ok half-configured
        Architecture: amd64
        Version: 3.0-2

        """;

    private static string Sha512Base64(string name) => Convert.ToBase64String(SHA512.HashData(Encoding.UTF8.GetBytes(name)));

    private static string Sha512Hex(string name) => Convert.ToHexStringLower(SHA512.HashData(Encoding.UTF8.GetBytes(name)));

    /// <summary>A deps file as the SDK writes it for a framework-dependent app with three packages (one transitive)
    /// and a project reference.</summary>
    private static string FrameworkDependentDeps => $$"""
        {
          "runtimeTarget": { "name": ".NETCoreApp,Version=v10.0", "signature": "" },
          "compilationOptions": {},
          "targets": {
            ".NETCoreApp,Version=v10.0": {
              "shop/1.2.0": {
                "dependencies": { "Newtonsoft.Json": "13.0.3", "Serilog.Sinks.Console": "6.0.0", "Shop.Core": "1.0.0" },
                "runtime": { "shop.dll": {} }
              },
              "Newtonsoft.Json/13.0.3": { "runtime": { "lib/net6.0/Newtonsoft.Json.dll": { "assemblyVersion": "13.0.0.0", "fileVersion": "13.0.3.27908" } } },
              "Serilog/4.0.0": { "runtime": { "lib/net8.0/Serilog.dll": {} } },
              "Serilog.Sinks.Console/6.0.0": { "dependencies": { "Serilog": "4.0.0" }, "runtime": { "lib/net8.0/Serilog.Sinks.Console.dll": {} } },
              "Shop.Core/1.0.0": { "dependencies": { "Serilog": "4.0.0" }, "runtime": { "Shop.Core.dll": {} } }
            }
          },
          "libraries": {
            "shop/1.2.0": { "type": "project", "serviceable": false, "sha512": "" },
            "Newtonsoft.Json/13.0.3": { "type": "package", "serviceable": true, "sha512": "sha512-{{Sha512Base64("Newtonsoft.Json")}}", "path": "newtonsoft.json/13.0.3", "hashPath": "newtonsoft.json.13.0.3.nupkg.sha512" },
            "Serilog/4.0.0": { "type": "package", "serviceable": true, "sha512": "sha512-{{Sha512Base64("Serilog")}}", "path": "serilog/4.0.0", "hashPath": "serilog.4.0.0.nupkg.sha512" },
            "Serilog.Sinks.Console/6.0.0": { "type": "package", "serviceable": true, "sha512": "sha512-{{Sha512Base64("Serilog.Sinks.Console")}}", "path": "serilog.sinks.console/6.0.0", "hashPath": "serilog.sinks.console.6.0.0.nupkg.sha512" },
            "Shop.Core/1.0.0": { "type": "project", "serviceable": false, "sha512": "" }
          }
        }
        """;

    private const string RuntimeConfig = """
        {
          "runtimeOptions": {
            "tfm": "net10.0",
            "frameworks": [
              { "name": "Microsoft.NETCore.App", "version": "10.0.0" },
              { "name": "Microsoft.AspNetCore.App", "version": "10.0.0" }
            ]
          }
        }
        """;

    private sealed class LayerBuilder
    {
        private readonly MemoryStream _tar = new();
        private readonly TarWriter _writer;

        public LayerBuilder()
        {
            _writer = new TarWriter(_tar, TarEntryFormat.Pax, leaveOpen: true);
        }

        public LayerBuilder File(string name, string content)
        {
            _writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { Mode = (UnixFileMode)0b110_100_100, DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)) });
            return this;
        }

        public LayerBuilder Dir(string name)
        {
            _writer.WriteEntry(new PaxTarEntry(TarEntryType.Directory, name + "/") { Mode = (UnixFileMode)0b111_101_101 });
            return this;
        }

        public LayerBuilder Link(string name, string target)
        {
            _writer.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, name) { LinkName = target });
            return this;
        }

        public LayerBuilder Whiteout(string path)
        {
            var slash = path.LastIndexOf('/');
            return File(slash < 0 ? ".wh." + path : $"{path[..slash]}/.wh.{path[(slash + 1)..]}", string.Empty);
        }

        public Layer Build(LayerCompression compression = LayerCompression.Gzip)
        {
            _writer.Dispose();
            var tar = _tar.ToArray();
            var blob = compression switch
            {
                LayerCompression.Gzip => TestImages.Gzip(tar),
                LayerCompression.Zstd => new ZstdSharp.Compressor().Wrap(tar).ToArray(),
                _ => tar,
            };
            return Layer.InMemory(blob, compression, Digest.Compute(tar));
        }
    }

    private static Image ImageOf(params Layer[] layers)
    {
        var builder = ImageBuilder.FromScratch(Amd64, ImageFormat.Oci);
        builder.Created = Created;
        foreach (var layer in layers)
        {
            builder.AddLayer(layer, "test");
        }

        return builder.Build();
    }

    private static Layer DebianBase(LayerCompression compression = LayerCompression.Gzip) => new LayerBuilder()
        .Dir("etc").Link("etc/os-release", "../usr/lib/os-release")
        .File("usr/lib/os-release", OsRelease)
        .File("var/lib/dpkg/status", DpkgStatus)
        .File("usr/share/dotnet/shared/Microsoft.NETCore.App/10.0.1/System.Private.CoreLib.dll", "1")
        .File("usr/share/dotnet/shared/Microsoft.NETCore.App/10.0.3/System.Private.CoreLib.dll", "3")
        .File("usr/share/dotnet/shared/Microsoft.AspNetCore.App/10.0.3/Microsoft.AspNetCore.dll", "3")
        .File("usr/share/dotnet/shared/Microsoft.NETCore.App/11.0.0/System.Private.CoreLib.dll", "11")
        .Build(compression);

    private static string PublishFolder(TempDirectory work, string deps, string? runtimeConfig = RuntimeConfig)
    {
        work.WriteFile("publish/shop.deps.json", deps);
        if (runtimeConfig is not null)
        {
            work.WriteFile("publish/shop.runtimeconfig.json", runtimeConfig);
        }

        return work.Combine("publish");
    }

    private static SbomSubject Subject(string digestSeed = "app") => new("localhost:5000/shop:1.2.0", Digest.Compute(Encoding.UTF8.GetBytes(digestSeed)), Amd64, Created);

    private static async Task<(JsonElement Spdx, JsonElement CycloneDx)> WriteValidatedAsync(SoftwareInventory inventory, SbomSubject subject)
    {
        var spdx = Encoding.UTF8.GetString(SbomDocument.Write(SbomFormat.Spdx, inventory, subject));
        var cyclone = Encoding.UTF8.GetString(SbomDocument.Write(SbomFormat.CycloneDx, inventory, subject));
        await SbomSchemas.AssertValidSpdxAsync(spdx);
        await SbomSchemas.AssertValidCycloneDxAsync(cyclone);
        return (JsonDocument.Parse(spdx).RootElement, JsonDocument.Parse(cyclone).RootElement);
    }

    private static Dictionary<string, JsonElement> SpdxByPurl(JsonElement spdx) => spdx.GetProperty("packages").EnumerateArray()
        .Where(p => p.TryGetProperty("externalRefs", out _))
        .SelectMany(p => p.GetProperty("externalRefs").EnumerateArray().Where(r => r.GetProperty("referenceType").GetString() == "purl").Select(r => (Purl: r.GetProperty("referenceLocator").GetString()!, Package: p)))
        .ToDictionary(x => x.Purl, x => x.Package);

    private static Dictionary<string, JsonElement> CycloneDxByPurl(JsonElement bom) => bom.GetProperty("components").EnumerateArray()
        .Where(c => c.TryGetProperty("purl", out _)).ToDictionary(c => c.GetProperty("purl").GetString()!);

    private static HashSet<(string, string, string)> SpdxRelationships(JsonElement spdx) => spdx.GetProperty("relationships").EnumerateArray()
        .Select(r => (r.GetProperty("spdxElementId").GetString()!, r.GetProperty("relationshipType").GetString()!, r.GetProperty("relatedSpdxElement").GetString()!)).ToHashSet();

    private static List<string> OsPurls(SoftwareInventory inventory) => [.. inventory.OfKind(SoftwareKind.OperatingSystemPackage).Select(c => c.Purl!)];

    private static string SpdxId(JsonElement package) => package.GetProperty("SPDXID").GetString()!;

    private static string[] DependsOn(JsonElement bom, string reference) => bom.GetProperty("dependencies").EnumerateArray()
        .Single(d => d.GetProperty("ref").GetString() == reference).GetProperty("dependsOn").EnumerateArray().Select(e => e.GetString()!).ToArray();

    [Fact]
    public async Task PackagesProjectReferencesFrameworksAndTheBaseAreListedWithPurlsChecksumsAndRelationships()
    {
        using var work = new TempDirectory();
        var store = new BlobStore(work.Combine("store"));
        var baseImage = ImageOf(DebianBase());
        var inventory = await PublishInventory.ReadAsync(PublishFolder(work, FrameworkDependentDeps), "shop", "1.2.0", "Shop", "mcr.microsoft.com/dotnet/aspnet:10.0", baseImage, store, CancellationToken.None);
        var (spdx, bom) = await WriteValidatedAsync(inventory, Subject());

        string[] nuget = ["pkg:nuget/Newtonsoft.Json@13.0.3", "pkg:nuget/Serilog@4.0.0", "pkg:nuget/Serilog.Sinks.Console@6.0.0"];
        const string App = "pkg:nuget/Shop@1.2.0";
        const string Project = "pkg:nuget/Shop.Core@1.0.0";
        var basePurl = $"pkg:oci/aspnet@{baseImage.ManifestDigest}?arch=amd64&repository_url=mcr.microsoft.com/dotnet/aspnet&tag=10.0";
        string[] frameworks = ["pkg:nuget/Microsoft.NETCore.App.Runtime.linux-x64@10.0.3", "pkg:nuget/Microsoft.AspNetCore.App.Runtime.linux-x64@10.0.3"];
        string[] debs = ["pkg:deb/debian/libc6@2.36-9%2Bdeb12u9?arch=amd64&distro=debian-12", "pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all&distro=debian-12"];

        var packages = SpdxByPurl(spdx);
        var components = CycloneDxByPurl(bom);
        foreach (var purl in nuget.Append(App).Append(Project).Append(basePurl).Concat(frameworks).Concat(debs))
        {
            Assert.True(packages.ContainsKey(purl), $"SPDX lacks {purl}; it has {string.Join(", ", packages.Keys)}");
            Assert.True(components.ContainsKey(purl), $"CycloneDX lacks {purl}; it has {string.Join(", ", components.Keys)}");
        }

        // Only installed distribution packages; the framework as the host would roll forward to (10.0.3, not 11.0.0).
        Assert.DoesNotContain(packages.Keys, p => p.Contains("oldtool") || p.Contains("halfdone"));
        Assert.Equal("10.0.3", packages[frameworks[0]].GetProperty("versionInfo").GetString());

        foreach (var purl in nuget)
        {
            var name = purl["pkg:nuget/".Length..purl.IndexOf('@')];
            var spdxSum = Assert.Single(packages[purl].GetProperty("checksums").EnumerateArray());
            Assert.Equal(("SHA512", Sha512Hex(name)), (spdxSum.GetProperty("algorithm").GetString(), spdxSum.GetProperty("checksumValue").GetString()));
            var hash = Assert.Single(components[purl].GetProperty("hashes").EnumerateArray());
            Assert.Equal(("SHA-512", Sha512Hex(name)), (hash.GetProperty("alg").GetString(), hash.GetProperty("content").GetString()));
        }

        Assert.Equal(baseImage.ManifestDigest.Hex, packages[basePurl].GetProperty("checksums")[0].GetProperty("checksumValue").GetString());
        Assert.Equal("Shop", packages[App].GetProperty("name").GetString());

        var relationships = SpdxRelationships(spdx);
        var app = SpdxId(packages[App]);
        Assert.Contains(("SPDXRef-DOCUMENT", "DESCRIBES", "SPDXRef-Image"), relationships);
        Assert.Contains(("SPDXRef-Image", "CONTAINS", app), relationships);
        Assert.Contains(("SPDXRef-Image", "DESCENDANT_OF", SpdxId(packages[basePurl])), relationships);
        foreach (var direct in new[] { nuget[0], nuget[2], Project, frameworks[0], frameworks[1] })
        {
            Assert.Contains((app, "DEPENDS_ON", SpdxId(packages[direct])), relationships);
        }

        Assert.Contains((SpdxId(packages[nuget[2]]), "DEPENDS_ON", SpdxId(packages[nuget[1]])), relationships);
        Assert.Contains((SpdxId(packages[Project]), "DEPENDS_ON", SpdxId(packages[nuget[1]])), relationships);
        Assert.Contains((SpdxId(packages[basePurl]), "CONTAINS", SpdxId(packages[debs[0]])), relationships);
        Assert.All(packages.Values, p => Assert.Matches("^SPDXRef-[A-Za-z0-9.-]+$", SpdxId(p)));

        Assert.Equal([frameworks[1], frameworks[0], nuget[0], nuget[2], Project], DependsOn(bom, App));
        Assert.Equal([nuget[1]], DependsOn(bom, nuget[2]));
        Assert.Contains(App, DependsOn(bom, "image"));
        Assert.Contains(basePurl, DependsOn(bom, "image"));
        Assert.Equal("2026-01-02T01:04:05Z", spdx.GetProperty("creationInfo").GetProperty("created").GetString());
        Assert.Equal("2026-01-02T01:04:05Z", bom.GetProperty("metadata").GetProperty("timestamp").GetString());
        Assert.StartsWith("Tool: Sdk.Containers-", spdx.GetProperty("creationInfo").GetProperty("creators")[0].GetString());
        Assert.Equal("container", bom.GetProperty("metadata").GetProperty("component").GetProperty("type").GetString());
        Assert.Empty(inventory.Warnings);
    }

    [Fact]
    public async Task TheSameInputGivesTheSameBytesAndAnotherImageAnotherNamespaceAndSerial()
    {
        using var work = new TempDirectory();
        var store = new BlobStore(work.Combine("store"));
        var baseImage = ImageOf(DebianBase());
        var publish = PublishFolder(work, FrameworkDependentDeps);
        var first = await PublishInventory.ReadAsync(publish, "shop", "1.2.0", null, "mcr.microsoft.com/dotnet/aspnet:10.0", baseImage, store, CancellationToken.None);
        Assert.True(Directory.EnumerateFiles(Path.Combine(store.Root, "index", "sbom-base-scans")).Any(), "the base's findings are kept by chain id");

        // Read again: the base's findings now come from the cache, in a fresh store the layers are read again.
        var cached = await PublishInventory.ReadAsync(publish, "shop", "1.2.0", null, "mcr.microsoft.com/dotnet/aspnet:10.0", baseImage, store, CancellationToken.None);
        var fresh = await PublishInventory.ReadAsync(publish, "shop", "1.2.0", null, "mcr.microsoft.com/dotnet/aspnet:10.0", baseImage, new BlobStore(work.Combine("store2")), CancellationToken.None);
        foreach (var format in new[] { SbomFormat.Spdx, SbomFormat.CycloneDx })
        {
            var bytes = SbomDocument.Write(format, first, Subject());
            Assert.Equal(bytes, SbomDocument.Write(format, first, Subject()));
            Assert.Equal(bytes, SbomDocument.Write(format, cached, Subject()));
            Assert.Equal(bytes, SbomDocument.Write(format, fresh, Subject()));
            Assert.NotEqual(bytes, SbomDocument.Write(format, first, Subject("another image")));
        }

        var (spdx, bom) = await WriteValidatedAsync(first, Subject());
        var (otherSpdx, otherBom) = await WriteValidatedAsync(first, Subject("another image"));
        Assert.Equal($"https://sdk-containers.dev/spdx/localhost%3A5000/shop%3A1.2.0/{Subject().ManifestDigest.Hex}", spdx.GetProperty("documentNamespace").GetString());
        Assert.NotEqual(spdx.GetProperty("documentNamespace").GetString(), otherSpdx.GetProperty("documentNamespace").GetString());
        var serial = bom.GetProperty("serialNumber").GetString()!;
        Assert.Matches("^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", serial);
        Assert.NotEqual(serial, otherBom.GetProperty("serialNumber").GetString());

        // Without a package id the app has no purl, and is still there by name.
        Assert.Contains(first.Components, c => c is { Kind: SoftwareKind.Application, Name: "shop", Version: "1.2.0", Purl: null });
    }

    [Fact]
    public async Task AWhiteoutOfTheStatusFileRemovesTheDebianPackagesAndAnOpaqueDirectoryKeepsOnlyTheNewOnes()
    {
        using var work = new TempDirectory();
        var store = new BlobStore(work.Combine("store"));
        var publish = PublishFolder(work, FrameworkDependentDeps);
        var removed = new LayerBuilder()
            .Whiteout("var/lib/dpkg/status")
            .Whiteout("usr/share/dotnet/shared/Microsoft.NETCore.App/10.0.3")
            .Build(LayerCompression.None);
        var inventory = await PublishInventory.ReadAsync(publish, "shop", null, null, "base", ImageOf(DebianBase(LayerCompression.Zstd), removed), store, CancellationToken.None);
        Assert.Empty(inventory.OfKind(SoftwareKind.OperatingSystemPackage));
        Assert.Contains(inventory.Components, c => c is { Kind: SoftwareKind.Framework, Name: "Microsoft.NETCore.App", Version: "10.0.1" });
        Assert.DoesNotContain(inventory.Components, c => c is { Kind: SoftwareKind.Framework, Version: "10.0.3", Name: "Microsoft.NETCore.App" });

        var opaque = new LayerBuilder()
            .File("var/lib/dpkg/.wh..wh..opq", string.Empty)
            .File("var/lib/dpkg/status", "Package: newpkg\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.0\n")
            .Build();
        var replaced = await PublishInventory.ReadAsync(publish, "shop", null, null, "base", ImageOf(DebianBase(), opaque), store, CancellationToken.None);
        Assert.Equal<string>(["pkg:deb/debian/newpkg@2.0?arch=amd64&distro=debian-12"], OsPurls(replaced));
        await WriteValidatedAsync(replaced, Subject());
    }

    [Fact]
    public async Task AlpinesApkDatabaseAndDistrolessStatusFilesAreRead()
    {
        using var work = new TempDirectory();
        var store = new BlobStore(work.Combine("store"));
        var publish = PublishFolder(work, FrameworkDependentDeps);
        var alpine = new LayerBuilder()
            .File("etc/os-release", "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.20.3\n")
            .File("lib/apk/db/installed", "C:Q1abc=\nP:musl\nV:1.2.5-r0\nA:x86_64\nT:the musl c library\n\nC:Q1def=\nP:busybox\nV:1.36.1-r29\nA:x86_64\n\n")
            .File("usr/share/dotnet/shared/Microsoft.NETCore.App/10.0.2/System.Private.CoreLib.dll", "2")
            .Build(LayerCompression.Zstd);
        var onAlpine = await PublishInventory.ReadAsync(publish, "shop", null, null, "alpine-base", ImageOf(alpine), store, CancellationToken.None);
        Assert.Equal<string>(["pkg:apk/alpine/busybox@1.36.1-r29?arch=x86_64&distro=alpine-3.20.3", "pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=alpine-3.20.3"], OsPurls(onAlpine));
        Assert.Contains(onAlpine.Components, c => c.Purl == "pkg:nuget/Microsoft.NETCore.App.Runtime.linux-musl-x64@10.0.2");
        Assert.Contains(onAlpine.Warnings, w => w.Contains("Microsoft.AspNetCore.App", StringComparison.Ordinal));
        await WriteValidatedAsync(onAlpine, Subject());

        var distroless = new LayerBuilder()
            .File("etc/os-release", OsRelease)
            .File("var/lib/dpkg/status.d/libc6", "Package: libc6\nArchitecture: amd64\nVersion: 2.36-9+deb12u9\n")
            .File("var/lib/dpkg/status.d/libc6.md5sums", "d41d8cd98f00b204e9800998ecf8427e  lib/x86_64-linux-gnu/libc.so.6\n")
            .File("var/lib/dpkg/status.d/netbase", "Package: netbase\nArchitecture: all\nVersion: 6.4\n")
            .Build(LayerCompression.None);
        var onDistroless = await PublishInventory.ReadAsync(publish, "shop", null, null, "distroless", ImageOf(distroless), store, CancellationToken.None);
        Assert.Equal<string>(["pkg:deb/debian/libc6@2.36-9%2Bdeb12u9?arch=amd64&distro=debian-12", "pkg:deb/debian/netbase@6.4?arch=all&distro=debian-12"], OsPurls(onDistroless));
    }

    [Fact]
    public async Task ASelfContainedAppListsItsRuntimePackAsItsFramework()
    {
        using var work = new TempDirectory();
        var deps = """
            {
              "runtimeTarget": { "name": ".NETCoreApp,Version=v10.0/linux-x64", "signature": "" },
              "targets": {
                ".NETCoreApp,Version=v10.0": {},
                ".NETCoreApp,Version=v10.0/linux-x64": {
                  "shop/1.2.0": { "dependencies": { "Newtonsoft.Json": "13.0.3", "runtimepack.Microsoft.NETCore.App.Runtime.linux-x64": "10.0.2" }, "runtime": { "shop.dll": {} } },
                  "runtimepack.Microsoft.NETCore.App.Runtime.linux-x64/10.0.2": { "runtime": { "System.Private.CoreLib.dll": {} } },
                  "Newtonsoft.Json/13.0.3": { "runtime": { "lib/net6.0/Newtonsoft.Json.dll": {} } }
                }
              },
              "libraries": {
                "shop/1.2.0": { "type": "project", "serviceable": false, "sha512": "" },
                "runtimepack.Microsoft.NETCore.App.Runtime.linux-x64/10.0.2": { "type": "runtimepack", "serviceable": false, "sha512": "" },
                "Newtonsoft.Json/13.0.3": { "type": "package", "serviceable": true, "sha512": "sha512-AAAA" }
              }
            }
            """;
        var publish = PublishFolder(work, deps, """{ "runtimeOptions": { "tfm": "net10.0", "includedFrameworks": [ { "name": "Microsoft.NETCore.App", "version": "10.0.2" } ] } }""");
        var baseImage = ImageOf(new LayerBuilder().File("etc/os-release", OsRelease).Build());
        var inventory = await PublishInventory.ReadAsync(publish, "shop", null, null, "runtime-deps", baseImage, new BlobStore(work.Combine("store")), CancellationToken.None);
        var framework = Assert.Single(inventory.OfKind(SoftwareKind.Framework));
        Assert.Equal(("Microsoft.NETCore.App", "10.0.2", "pkg:nuget/Microsoft.NETCore.App.Runtime.linux-x64@10.0.2"), (framework.Name, framework.Version, framework.Purl));
        Assert.Contains(new SoftwareRelationship("application:shop@1.2.0", RelationshipKind.DependsOn, framework.Ref), inventory.Relationships);
        Assert.Empty(Assert.Single(inventory.Components, c => c.Purl == "pkg:nuget/Newtonsoft.Json@13.0.3").Checksums); // "sha512-AAAA" is no SHA-512
        Assert.Contains(inventory.Components, c => c is { Kind: SoftwareKind.OperatingSystem, Name: "debian", Version: "12" });
        await WriteValidatedAsync(inventory, Subject());
    }

    [Fact]
    public async Task AnImagesFileSystemGivesItsAppsByTheirDepsFilesAfterWhiteouts()
    {
        using var work = new TempDirectory();
        var store = new BlobStore(work.Combine("store"));
        var baseLayer = DebianBase();
        var appLayer = new LayerBuilder()
            .Dir("app")
            .File("app/shop.deps.json", FrameworkDependentDeps)
            .File("app/shop.runtimeconfig.json", RuntimeConfig)
            .File("tools/broken.deps.json", "{ not json")
            .Build();
        var baseDigest = ImageOf(baseLayer).ManifestDigest;
        var inventory = await FileSystemInventory.ReadAsync("localhost:5000/shop:1.2.0", ImageOf(baseLayer, appLayer), "debian:12", baseDigest, store, CancellationToken.None);
        var app = Assert.Single(inventory.OfKind(SoftwareKind.Application));
        Assert.Equal(("shop", "1.2.0", "/app/shop.deps.json"), (app.Name, app.Version, app.FoundIn));
        Assert.Contains(inventory.Components, c => c.Purl == "pkg:nuget/Serilog@4.0.0" && c.Checksums.Single().Hex == Sha512Hex("Serilog"));
        Assert.Contains(inventory.Components, c => c.Purl == "pkg:deb/debian/libc6@2.36-9%2Bdeb12u9?arch=amd64&distro=debian-12");
        Assert.Contains(new SoftwareRelationship(SoftwareInventory.SubjectRef, RelationshipKind.Contains, app.Ref), inventory.Relationships);
        Assert.Contains(new SoftwareRelationship(SoftwareInventory.SubjectRef, RelationshipKind.DescendantOf, inventory.BaseImage!.Ref), inventory.Relationships);
        Assert.Contains(inventory.Warnings, w => w.StartsWith("localhost:5000/shop:1.2.0: /tools/broken.deps.json is not valid JSON", StringComparison.Ordinal));
        await WriteValidatedAsync(inventory, Subject());

        var deleted = new LayerBuilder().Whiteout("app/shop.deps.json").Build();
        var after = await FileSystemInventory.ReadAsync("localhost:5000/shop:1.2.1", ImageOf(baseLayer, appLayer, deleted), null, null, store, CancellationToken.None);
        Assert.Empty(after.OfKind(SoftwareKind.Application));
        Assert.DoesNotContain(after.Components, c => c.Purl == "pkg:nuget/Serilog@4.0.0");
        Assert.Null(after.BaseImage);
    }

    [Fact]
    public async Task TheBaseImagesOwnSbomIsLinkedInBothFormats()
    {
        using var work = new TempDirectory();
        var baseImage = ImageOf(DebianBase());
        var inventory = await PublishInventory.ReadAsync(PublishFolder(work, FrameworkDependentDeps), "shop", null, null, "mcr.microsoft.com/dotnet/aspnet:10.0", baseImage, new BlobStore(work.Combine("store")), CancellationToken.None);
        var sbomDigest = Digest.Compute("base sbom"u8);
        var linked = inventory.WithBaseImageSbom(new SbomReference(sbomDigest, SbomDocument.SpdxMediaType, "mcr.microsoft.com/dotnet/aspnet") { SpdxDocumentNamespace = "https://example.com/spdx/aspnet-10" });
        var (spdx, bom) = await WriteValidatedAsync(linked, Subject());

        var external = Assert.Single(spdx.GetProperty("externalDocumentRefs").EnumerateArray());
        Assert.Equal("https://example.com/spdx/aspnet-10", external.GetProperty("spdxDocument").GetString());
        Assert.Equal(sbomDigest.Hex, external.GetProperty("checksum").GetProperty("checksumValue").GetString());
        var basePackage = SpdxByPurl(spdx)[inventory.BaseImage!.Purl!];
        Assert.Contains(basePackage.GetProperty("annotations").EnumerateArray(), a => a.GetProperty("comment").GetString()!.Contains(sbomDigest.ToString(), StringComparison.Ordinal));
        var reference = Assert.Single(CycloneDxByPurl(bom)[inventory.BaseImage.Purl!].GetProperty("externalReferences").EnumerateArray());
        Assert.Equal(("bom", $"mcr.microsoft.com/dotnet/aspnet@{sbomDigest}"), (reference.GetProperty("type").GetString(), reference.GetProperty("url").GetString()));
        Assert.Equal(sbomDigest.Hex, reference.GetProperty("hashes")[0].GetProperty("content").GetString());

        // Without the link, neither format says anything of it.
        var (plainSpdx, plainBom) = await WriteValidatedAsync(inventory, Subject());
        Assert.False(plainSpdx.TryGetProperty("externalDocumentRefs", out _));
        Assert.DoesNotContain("externalReferences", plainBom.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheBaseTreeAndTheSbomShareOnePassOverTheBasesLayers()
    {
        using var work = new TempDirectory();
        var store = new BlobStore(work.Combine("store"));
        var inMemory = DebianBase();
        var blobPath = work.Combine("base-layer.blob");
        await using (var blob = inMemory.OpenBlob())
        await using (var file = File.Create(blobPath))
        {
            await blob.CopyToAsync(file);
        }

        var onDisk = new Layer(blobPath, inMemory.Descriptor, inMemory.DiffId);
        var baseImage = ImageOf(onDisk);
        var tree = new BaseTree.Finding();
        var scan = PublishInventory.BaseScan();
        await LayerTreeWalk.ReadAsync(baseImage.Layers, store, [tree, scan.Finding], CancellationToken.None);
        Assert.Equal("usr/lib/os-release", tree.Tree.Resolve("etc/os-release", followLast: true));

        // The layer is gone: what both need was kept by the one pass.
        File.Delete(blobPath);
        var inventory = await PublishInventory.ReadAsync(PublishFolder(work, FrameworkDependentDeps), "shop", null, null, "base", baseImage, store, CancellationToken.None);
        Assert.Equal(2, inventory.OfKind(SoftwareKind.OperatingSystemPackage).Count());
        Assert.Equal(tree.Tree.Count, (await BaseTree.ReadAsync(baseImage.Layers, store, CancellationToken.None)).Count);
    }

    [Fact]
    public async Task AMissingOrDamagedDepsFileIsACodedErrorNamingIt()
    {
        using var work = new TempDirectory();
        var store = new BlobStore(work.Combine("store"));
        var baseImage = ImageOf(DebianBase());
        work.WriteFile("empty/other.txt", "x");
        var missing = await Assert.ThrowsAsync<ContainerException>(() => PublishInventory.ReadAsync(work.Combine("empty"), "shop", null, null, "base", baseImage, store, CancellationToken.None));
        Assert.Equal(ErrorCodes.SbomInputUnreadable, missing.Code);
        Assert.Contains("shop.deps.json", missing.Message, StringComparison.Ordinal);

        var damaged = await Assert.ThrowsAsync<ContainerException>(() => PublishInventory.ReadAsync(PublishFolder(work, "{\n \"targets\": [1,"), "shop", null, null, "base", baseImage, store, CancellationToken.None));
        Assert.Equal(ErrorCodes.SbomInputUnreadable, damaged.Code);
        Assert.Contains("shop.deps.json", damaged.Message, StringComparison.Ordinal);
        Assert.Contains("line 2", damaged.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PurlsArePercentEncodedAndSpdxIdsStayDistinct()
    {
        Assert.Equal("pkg:nuget/My.Package@1.0.0-beta%2Bsha.1", Purl.NuGet("My.Package", "1.0.0-beta+sha.1"));
        Assert.Equal("pkg:oci/app@sha256:" + new string('a', 64) + "?arch=arm64&repository_url=localhost:5000/team/app&tag=v1",
            OciPurl.Create("localhost:5000/team/app:v1", Digest.Parse("sha256:" + new string('a', 64)), new Platform { Os = "linux", Architecture = "arm64" }));

        // Two refs that reduce to the same SPDXID characters get different ids.
        var inventory = new SoftwareInventory(
        [
            new SoftwareComponent { Ref = "reference:a+b@1", Name = "a+b", Version = "1", Kind = SoftwareKind.Library },
            new SoftwareComponent { Ref = "reference:a_b@1", Name = "a_b", Version = "1", Kind = SoftwareKind.Library },
        ], []);
        var spdx = JsonDocument.Parse(SbomDocument.Write(SbomFormat.Spdx, inventory, Subject())).RootElement;
        var ids = spdx.GetProperty("packages").EnumerateArray().Select(p => p.GetProperty("SPDXID").GetString()).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Throws<ArgumentException>(() => new SoftwareInventory([], [new SoftwareRelationship(SoftwareInventory.SubjectRef, RelationshipKind.Contains, "nothing")]));
    }
}
