using System.Formats.Tar;
using System.Text.Json;
using System.Text.Json.Serialization;
using Sdk.Containers.Layers;

namespace Sdk.Containers.Supply;

/// <summary>A .NET shared framework installed in the image (usr/share/dotnet/shared/&lt;Name&gt;/&lt;Version&gt;).</summary>
internal sealed record SharedFramework(string Name, string Version, string Path);

/// <summary>An app found in the image by its .deps.json, with the frameworks its .runtimeconfig.json asks for.</summary>
internal sealed record ImageApp(string AssemblyName, DotnetDeps Deps, IReadOnlyList<FrameworkRequest> Frameworks);

/// <summary>What the SBOM needs from an image's file system, after all its layers (whiteouts applied).</summary>
internal sealed record FileSystemFindings(
    string Version,
    OsRelease? Os,
    IReadOnlyList<OsPackage> Packages,
    IReadOnlyList<SharedFramework> Frameworks,
    IReadOnlyList<ImageApp> Apps,
    IReadOnlyList<string> Warnings);

/// <summary>
/// One reader of a <see cref="LayerTreeWalk"/> that keeps the files an SBOM is made from — os-release, the dpkg and
/// apk databases, the .NET shared framework directories and, for a whole image, every .deps.json and
/// .runtimeconfig.json — and parses them once the last layer is applied. Kept by chain id, so a base is read once.
/// </summary>
internal sealed class FileSystemScan(bool apps) : ILayerChainFinding
{
    private const string FindingsVersion = "sbom-scan-v1";
    private const string DpkgStatus = "var/lib/dpkg/status";
    private const string DpkgStatusDirectory = "var/lib/dpkg/status.d/";
    private const string DepsSuffix = ".deps.json";
    private const string RuntimeConfigSuffix = ".runtimeconfig.json";
    private const long MaxFileBytes = 64L << 20;
    private static readonly string[] ApkDatabases = ["lib/apk/db/installed", "usr/lib/apk/db/installed"];
    private static readonly string[] OsReleases = ["etc/os-release", "usr/lib/os-release"];
    private static readonly string[] DotnetRoots = ["usr/share/dotnet/shared/", "usr/lib/dotnet/shared/"];

    private readonly SortedDictionary<string, ReadOnlyMemory<byte>> _files = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _links = new(StringComparer.Ordinal);
    private readonly SortedSet<string> _frameworkDirectories = new(StringComparer.Ordinal);
    private readonly List<string> _warnings = [];

    public FileSystemFindings? Findings { get; private set; }

    public string CacheFolder => apps ? "sbom-image-scans" : "sbom-base-scans";

    public async Task<bool> TryLoadAsync(string file, CancellationToken cancellationToken)
    {
        if (!File.Exists(file))
        {
            return false;
        }

        try
        {
            await using var stream = File.OpenRead(file);
            var findings = await JsonSerializer.DeserializeAsync(stream, SupplyJsonContext.Default.FileSystemFindings, cancellationToken).ConfigureAwait(false);
            Findings = findings?.Version == FindingsVersion ? findings : null;
        }
        catch (JsonException)
        {
            Findings = null; // damaged or of another version: read the layers again
        }

        return Findings is not null;
    }

    public bool WantsData(string path, TarEntry entry) => IsWanted(path) && entry.Length <= MaxFileBytes;

    public void Add(string path, TarEntry entry, ReadOnlyMemory<byte> data)
    {
        foreach (var root in DotnetRoots)
        {
            if (path.StartsWith(root, StringComparison.Ordinal) && path[root.Length..].Split('/') is [var name, var version, ..] && name.Length > 0 && version.Length > 0)
            {
                _frameworkDirectories.Add($"{root}{name}/{version}");
            }
        }

        if (!IsWanted(path))
        {
            return;
        }

        switch (entry.EntryType)
        {
            case TarEntryType.RegularFile or TarEntryType.V7RegularFile when entry.Length > MaxFileBytes:
                _warnings.Add($"/{path} is larger than {MaxFileBytes >> 20} MiB and was not read");
                break;
            case TarEntryType.RegularFile or TarEntryType.V7RegularFile:
                _files[path] = data;
                break;
            case TarEntryType.HardLink when _files.TryGetValue(LayerPlan.NormalizePath(entry.LinkName), out var target):
                _files[path] = target;
                break;
            case TarEntryType.SymbolicLink:
                _links[path] = entry.LinkName;
                break;
        }
    }

    public void Remove(string path)
    {
        var prefix = path + "/";
        bool Gone(string p) => p == path || p.StartsWith(prefix, StringComparison.Ordinal);
        foreach (var key in _files.Keys.Where(Gone).ToList())
        {
            _files.Remove(key);
        }

        foreach (var key in _links.Keys.Where(Gone).ToList())
        {
            _links.Remove(key);
        }

        _frameworkDirectories.RemoveWhere(Gone);
    }

    public void HideLower(string directory, IReadOnlySet<string> layerPaths)
    {
        var prefix = directory.Length == 0 ? string.Empty : directory + "/";
        bool Hidden(string p) => p.StartsWith(prefix, StringComparison.Ordinal) && p.Length > prefix.Length && !layerPaths.Contains(p);
        foreach (var key in _files.Keys.Where(Hidden).ToList())
        {
            _files.Remove(key);
        }

        foreach (var key in _links.Keys.Where(Hidden).ToList())
        {
            _links.Remove(key);
        }

        // A framework directory stays when the layer put anything in it.
        _frameworkDirectories.RemoveWhere(d => Hidden(d) && !layerPaths.Any(p => p.StartsWith(d + "/", StringComparison.Ordinal)));
    }

    public byte[] Complete()
    {
        Findings = Parse();
        return JsonSerializer.SerializeToUtf8Bytes(Findings, SupplyJsonContext.Default.FileSystemFindings);
    }

    private bool IsWanted(string path)
        => path == DpkgStatus || (path.StartsWith(DpkgStatusDirectory, StringComparison.Ordinal) && !path.EndsWith(".md5sums", StringComparison.Ordinal))
            || ApkDatabases.Contains(path) || OsReleases.Contains(path)
            || (apps && (path.EndsWith(DepsSuffix, StringComparison.Ordinal) || path.EndsWith(RuntimeConfigSuffix, StringComparison.Ordinal)));

    private FileSystemFindings Parse()
    {
        var packages = new List<OsPackage>();
        var apps = new List<ImageApp>();
        foreach (var (path, data) in _files)
        {
            var text = OsPackageDatabase.Text(data);
            if (path == DpkgStatus)
            {
                packages.AddRange(OsPackageDatabase.ReadDpkg(text, "/" + path, statusRequired: true));
            }
            else if (path.StartsWith(DpkgStatusDirectory, StringComparison.Ordinal))
            {
                packages.AddRange(OsPackageDatabase.ReadDpkg(text, "/" + path, statusRequired: false));
            }
            else if (ApkDatabases.Contains(path))
            {
                packages.AddRange(OsPackageDatabase.ReadApk(text, "/" + path));
            }
            else if (path.EndsWith(DepsSuffix, StringComparison.Ordinal) && App(path, data) is { } app)
            {
                apps.Add(app);
            }
        }

        var frameworks = _frameworkDirectories.Select(d => d.Split('/')).Select(p => new SharedFramework(p[^2], p[^1], "/" + string.Join('/', p))).ToList();
        return new FileSystemFindings(FindingsVersion, Os(), packages, frameworks, apps, [.. _warnings]);
    }

    private ImageApp? App(string path, ReadOnlyMemory<byte> data)
    {
        var name = path[(path.LastIndexOf('/') + 1)..^DepsSuffix.Length];
        var deps = DotnetDeps.Parse(data.Span, "/" + path, name, out var problem);
        if (deps is null)
        {
            _warnings.Add($"{problem}; its packages are not in the SBOM");
            return null;
        }

        var runtimeConfigPath = path[..^DepsSuffix.Length] + RuntimeConfigSuffix;
        IReadOnlyList<FrameworkRequest> frameworks = [];
        if (_files.TryGetValue(runtimeConfigPath, out var config))
        {
            frameworks = RuntimeConfig.Parse(config.Span, "/" + runtimeConfigPath, out problem) ?? [];
            if (problem is not null)
            {
                _warnings.Add($"{problem}; the frameworks the app runs on are not in the SBOM");
            }
        }

        return new ImageApp(name, deps, frameworks);
    }

    /// <summary>etc/os-release, which Debian and others make a link to ../usr/lib/os-release; the latter is the
    /// fallback os-release(5) names.</summary>
    private OsRelease? Os()
    {
        foreach (var path in OsReleases)
        {
            var resolved = _links.TryGetValue(path, out var link) ? Archives.ArchiveContents.ResolveLink(path, link) : path;
            if (_files.TryGetValue(resolved, out var data))
            {
                return OsRelease.Parse(OsPackageDatabase.Text(data));
            }
        }

        return null;
    }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true)]
[JsonSerializable(typeof(FileSystemFindings))]
[JsonSerializable(typeof(DepsFileJson))]
[JsonSerializable(typeof(RuntimeConfigJson))]
internal sealed partial class SupplyJsonContext : JsonSerializerContext
{
}
