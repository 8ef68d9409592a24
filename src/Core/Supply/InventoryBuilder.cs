using NuGet.Versioning;
using Sdk.Containers.Digests;
using Sdk.Containers.Images;

namespace Sdk.Containers.Supply;

/// <summary>Turns what was read (a deps file, a file system's findings, a base image) into components and
/// relationships, with the identities (purls, refs) both inventories share.</summary>
internal sealed class InventoryBuilder
{
    private readonly List<SoftwareComponent> _components = [];
    private readonly List<SoftwareRelationship> _relationships = [];
    private readonly List<string> _warnings = [];

    /// <summary>What each warning starts with (the image it is about).</summary>
    public string WarningPrefix { get; init; } = string.Empty;

    public SoftwareInventory Build() => new(_components, _relationships, _warnings.Select(w => WarningPrefix + w));

    public void Warn(IEnumerable<string> warnings) => _warnings.AddRange(warnings);

    /// <summary>The base image; the image is built on it. Returns its ref.</summary>
    public string AddBaseImage(string name, Digest manifestDigest, Platform? platform)
    {
        var purl = OciPurl.Create(name, manifestDigest, platform);
        Add(new SoftwareComponent
        {
            Ref = purl,
            Name = name,
            Version = manifestDigest.ToString(),
            Kind = SoftwareKind.Container,
            Purl = purl,
            Checksums = [new(ChecksumAlgorithm.Sha256, manifestDigest.Hex)],
        });
        Relate(SoftwareInventory.SubjectRef, RelationshipKind.DescendantOf, purl);
        return purl;
    }

    /// <summary>The distribution, its packages and its .NET shared frameworks, contained by <paramref name="owner"/>
    /// (the base image, or the image itself when the whole image was read).</summary>
    public void AddFileSystem(FileSystemFindings findings, string owner, Platform platform)
    {
        Warn(findings.Warnings);
        if (findings.Os is { } os)
        {
            var osRef = $"operating-system:{os.Id}@{os.VersionId}";
            Add(new SoftwareComponent { Ref = osRef, Name = os.Id, Version = os.VersionId, Kind = SoftwareKind.OperatingSystem, FoundIn = "/etc/os-release" });
            Relate(owner, RelationshipKind.Contains, osRef);
        }

        foreach (var package in findings.Packages)
        {
            var distro = findings.Os is { } release && release.Id.Length > 0 ? release : null;
            var ns = distro?.Id ?? (package.Manager == "apk" ? "alpine" : "debian");
            var purl = Purl.Create(package.Manager, ns, package.Name, package.Version,
            [
                new("arch", package.Architecture),
                new("distro", distro is { VersionId: { } version } ? $"{distro.Id}-{version}" : null),
            ]);
            Add(new SoftwareComponent { Ref = purl, Name = package.Name, Version = package.Version, Kind = SoftwareKind.OperatingSystemPackage, Purl = purl, FoundIn = package.Source });
            Relate(owner, RelationshipKind.Contains, purl);
        }

        foreach (var framework in findings.Frameworks)
        {
            Relate(owner, RelationshipKind.Contains, AddFramework(framework.Name, framework.Version, RuntimeIdentifier(platform, findings.Os), framework.Path));
        }
    }

    /// <summary>An app from its deps file: it and every library, each library's dependencies, the frameworks it runs
    /// on (<paramref name="installed"/>: those of the image, for a framework-dependent app). The image contains it.</summary>
    public void AddApp(DotnetDeps deps, string? version, string? packageId, IReadOnlyList<FrameworkRequest> requested, IReadOnlyList<SharedFramework> installed, string? rid)
    {
        var app = deps.App;
        var appVersion = version ?? app.Version;
        var appPurl = packageId is { Length: > 0 } ? Purl.NuGet(packageId, appVersion) : null;
        var appRef = appPurl ?? $"application:{app.Name}@{appVersion}";
        Add(new SoftwareComponent { Ref = appRef, Name = packageId is { Length: > 0 } ? packageId : app.Name, Version = appVersion, Kind = SoftwareKind.Application, Purl = appPurl, FoundIn = deps.Source });
        Relate(SoftwareInventory.SubjectRef, RelationshipKind.Contains, appRef);

        var refs = new Dictionary<string, string>(StringComparer.Ordinal) { [app.Key] = appRef };
        foreach (var library in deps.Libraries.Where(l => l.Key != app.Key))
        {
            refs[library.Key] = library.Type switch
            {
                "package" or "project" => AddLibrary(library, deps.Source),
                "runtimepack" => AddRuntimePack(library, deps.Source),
                _ => Add(new SoftwareComponent { Ref = $"{library.Type}:{library.Name}@{library.Version}", Name = library.Name, Version = library.Version, Kind = SoftwareKind.Library, FoundIn = deps.Source }),
            };
        }

        foreach (var library in deps.Libraries)
        {
            foreach (var dependency in library.DependsOn)
            {
                Relate(refs[library.Key], RelationshipKind.DependsOn, refs[dependency]);
            }
        }

        // A self-contained app carries its runtime packs; they are its frameworks whether the deps file says so or not.
        foreach (var pack in deps.Libraries.Where(l => l.Type == "runtimepack"))
        {
            Relate(appRef, RelationshipKind.DependsOn, refs[pack.Key]);
        }

        foreach (var request in requested)
        {
            var found = Resolve(request, installed);
            if (found is null)
            {
                _warnings.Add($"{deps.Source}: the app runs on {request.Name} {request.Version} or later, which is not in the image; the SBOM names the version asked for");
            }

            Relate(appRef, RelationshipKind.DependsOn, AddFramework(request.Name, found?.Version ?? request.Version, rid, found?.Path));
        }
    }

    private string AddLibrary(DepsLibrary library, string source)
    {
        var purl = Purl.NuGet(library.Name, library.Version);
        return Add(new SoftwareComponent
        {
            Ref = purl,
            Name = library.Name,
            Version = library.Version,
            Kind = SoftwareKind.Library,
            Purl = purl,
            Checksums = library.Sha512Hex is { } hex ? [new(ChecksumAlgorithm.Sha512, hex)] : [],
            FoundIn = source,
        });
    }

    /// <summary>runtimepack.Microsoft.NETCore.App.Runtime.linux-x64: the NuGet package of that name, which is the
    /// framework Microsoft.NETCore.App for that runtime.</summary>
    private string AddRuntimePack(DepsLibrary library, string source)
    {
        var id = library.Name.StartsWith("runtimepack.", StringComparison.Ordinal) ? library.Name["runtimepack.".Length..] : library.Name;
        var runtime = id.IndexOf(".Runtime.", StringComparison.Ordinal);
        var purl = Purl.NuGet(id, library.Version);
        return Add(new SoftwareComponent
        {
            Ref = purl,
            Name = runtime > 0 ? id[..runtime] : id,
            Version = library.Version,
            Kind = SoftwareKind.Framework,
            Purl = purl,
            Checksums = library.Sha512Hex is { } hex ? [new(ChecksumAlgorithm.Sha512, hex)] : [],
            FoundIn = source,
        });
    }

    /// <summary>
    /// A shared framework. Its purl is the NuGet runtime pack of the same name, version and runtime
    /// (Microsoft.NETCore.App.Runtime.linux-x64): the same build of the runtime, and the package .NET's security
    /// advisories list, so a scanner matches the image's runtime against them. Without a known runtime, a generic purl.
    /// </summary>
    private string AddFramework(string name, string version, string? rid, string? path)
    {
        var purl = rid is not null ? Purl.NuGet($"{name}.Runtime.{rid}", version) : Purl.Create("generic", "dotnet", name, version);
        return Add(new SoftwareComponent { Ref = purl, Name = name, Version = version, Kind = SoftwareKind.Framework, Purl = purl, FoundIn = path });
    }

    /// <summary>The version the host picks with the default roll-forward (Minor): the highest patch of the lowest
    /// major.minor at or above the one asked for, within its major.</summary>
    private static SharedFramework? Resolve(FrameworkRequest request, IReadOnlyList<SharedFramework> installed)
    {
        if (!NuGetVersion.TryParse(request.Version, out var wanted))
        {
            return installed.FirstOrDefault(f => f.Name == request.Name && f.Version == request.Version);
        }

        var candidates = installed
            .Where(f => f.Name == request.Name)
            .Select(f => (Framework: f, Version: NuGetVersion.TryParse(f.Version, out var v) ? v : null))
            .Where(c => c.Version is not null && c.Version.Major == wanted.Major && c.Version >= wanted && (wanted.IsPrerelease || !c.Version.IsPrerelease))
            .ToList();
        if (candidates.Count == 0)
        {
            return null;
        }

        var minor = candidates.Min(c => c.Version!.Minor);
        return candidates.Where(c => c.Version!.Minor == minor).MaxBy(c => c.Version)!.Framework;
    }

    /// <summary>The runtime identifier of the image's platform (linux-musl-x64 on Alpine), as runtime packs are named.</summary>
    public static string? RuntimeIdentifier(Platform platform, OsRelease? os)
    {
        var arch = platform.Architecture switch
        {
            "amd64" => "x64",
            "arm64" => "arm64",
            "arm" => "arm",
            "386" => "x86",
            "s390x" => "s390x",
            "ppc64le" => "ppc64le",
            "riscv64" => "riscv64",
            "loong64" => "loongarch64",
            _ => null,
        };
        var osName = platform.Os switch
        {
            "linux" => os?.Id == "alpine" ? "linux-musl" : "linux",
            "windows" => "win",
            _ => null,
        };
        return arch is null || osName is null ? null : $"{osName}-{arch}";
    }

    private string Add(SoftwareComponent component)
    {
        _components.Add(component);
        return component.Ref;
    }

    private void Relate(string from, RelationshipKind kind, string to)
    {
        if (from != to)
        {
            _relationships.Add(new SoftwareRelationship(from, kind, to));
        }
    }
}
