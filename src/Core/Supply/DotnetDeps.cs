using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Sdk.Containers.Supply;

/// <summary>One library of an app's .deps.json: a package, a project reference, a runtime pack or a reference.</summary>
/// <param name="DependsOn">The keys ("Name/Version") of the libraries it depends on, as the runtime target lists them.</param>
internal sealed record DepsLibrary(string Name, string Version, string Type, string? Sha512Hex, IReadOnlyList<string> DependsOn)
{
    [JsonIgnore]
    public string Key => $"{Name}/{Version}";
}

/// <summary>What an app's .deps.json says: which library is the app itself, and every other library of its runtime
/// target with its dependencies.</summary>
internal sealed record DotnetDeps(string Source, string AppKey, IReadOnlyList<DepsLibrary> Libraries)
{
    [JsonIgnore]
    public DepsLibrary App => Libraries.First(l => l.Key == AppKey);

    /// <summary>Reads a .deps.json. <paramref name="assemblyName"/> picks the app's own library (the SDK writes the
    /// project first, which is the fallback). Null with <paramref name="problem"/> when it is not a deps file.</summary>
    public static DotnetDeps? Parse(ReadOnlySpan<byte> json, string source, string assemblyName, out string? problem)
    {
        if (!SupplyJson.TryParse(json, SupplyJsonContext.Default.DepsFileJson, source, out var file, out problem))
        {
            return null;
        }

        var targets = file?.Targets;
        if (file is null || targets is null || targets.Count == 0 || file.Libraries is null)
        {
            problem = $"{source} has no targets or libraries; it is not a .deps.json the .NET SDK wrote";
            return null;
        }

        // The runtime target is the one the app runs with (".NETCoreApp,Version=v10.0" or ".../linux-x64").
        var target = file.RuntimeTarget?.Name is { } name && targets.TryGetValue(name, out var named) ? named : targets.Values.First();
        var libraries = new List<DepsLibrary>();
        foreach (var (key, entry) in target)
        {
            var slash = key.IndexOf('/');
            if (slash <= 0 || slash == key.Length - 1)
            {
                continue;
            }

            var library = file.Libraries.GetValueOrDefault(key);
            var dependsOn = (entry?.Dependencies ?? []).Select(d => $"{d.Key}/{d.Value}").Where(target.ContainsKey).Order(StringComparer.Ordinal).ToList();
            libraries.Add(new DepsLibrary(key[..slash], key[(slash + 1)..], library?.Type ?? "unknown", Sha512Hex(library?.Sha512), dependsOn));
        }

        var app = libraries.FirstOrDefault(l => l.Type == "project" && string.Equals(l.Name, assemblyName, StringComparison.OrdinalIgnoreCase))
            ?? libraries.FirstOrDefault(l => l.Type == "project");
        if (app is null)
        {
            problem = $"{source} lists no project, so which library is the app is unknown";
            return null;
        }

        problem = null;
        return new DotnetDeps(source, app.Key, libraries);
    }

    /// <summary>"sha512-&lt;base64&gt;" as NuGet's lock files and deps files write a package's hash, to hex.</summary>
    private static string? Sha512Hex(string? value)
    {
        const string Prefix = "sha512-";
        if (value is null || !value.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var bytes = new byte[64];
        return Convert.TryFromBase64String(value[Prefix.Length..], bytes, out var written) && written == 64 ? Convert.ToHexStringLower(bytes) : null;
    }
}

/// <summary>A shared framework an app runs on, and the lowest version it accepts.</summary>
internal sealed record FrameworkRequest(string Name, string Version);

/// <summary>The frameworks an app's .runtimeconfig.json asks for (a self-contained app asks for none).</summary>
internal static class RuntimeConfig
{
    public static IReadOnlyList<FrameworkRequest>? Parse(ReadOnlySpan<byte> json, string source, out string? problem)
    {
        if (!SupplyJson.TryParse(json, SupplyJsonContext.Default.RuntimeConfigJson, source, out var file, out problem))
        {
            return null;
        }

        var options = file?.RuntimeOptions;
        var frameworks = new List<FrameworkReferenceJson>();
        if (options?.Framework is { } one)
        {
            frameworks.Add(one);
        }

        frameworks.AddRange(options?.Frameworks ?? []);
        return [.. frameworks.Where(f => f.Name is { Length: > 0 } && f.Version is { Length: > 0 }).Select(f => new FrameworkRequest(f.Name!, f.Version!))];
    }
}

internal static class SupplyJson
{
    /// <summary>A JSON file of an app; false with what is wrong (file and line) when it does not parse.</summary>
    public static bool TryParse<T>(ReadOnlySpan<byte> json, JsonTypeInfo<T> typeInfo, string source, out T? value, out string? problem)
    {
        try
        {
            value = JsonSerializer.Deserialize(json, typeInfo);
            problem = null;
            return true;
        }
        catch (JsonException ex)
        {
            value = default;
            problem = $"{source} is not valid JSON (line {ex.LineNumber + 1}): {ex.Message.Split(". Path:")[0].TrimEnd('.')}";
            return false;
        }
    }
}

internal sealed record DepsFileJson(
    [property: JsonPropertyName("runtimeTarget")] DepsRuntimeTargetJson? RuntimeTarget,
    [property: JsonPropertyName("targets")] Dictionary<string, Dictionary<string, DepsTargetEntryJson?>>? Targets,
    [property: JsonPropertyName("libraries")] Dictionary<string, DepsLibraryJson>? Libraries);

internal sealed record DepsRuntimeTargetJson([property: JsonPropertyName("name")] string? Name);

internal sealed record DepsTargetEntryJson([property: JsonPropertyName("dependencies")] Dictionary<string, string>? Dependencies);

internal sealed record DepsLibraryJson(
    [property: JsonPropertyName("type")] string? Type,
    [property: JsonPropertyName("sha512")] string? Sha512);

internal sealed record RuntimeConfigJson([property: JsonPropertyName("runtimeOptions")] RuntimeOptionsJson? RuntimeOptions);

internal sealed record RuntimeOptionsJson(
    [property: JsonPropertyName("framework")] FrameworkReferenceJson? Framework,
    [property: JsonPropertyName("frameworks")] IReadOnlyList<FrameworkReferenceJson>? Frameworks);

internal sealed record FrameworkReferenceJson(
    [property: JsonPropertyName("name")] string? Name,
    [property: JsonPropertyName("version")] string? Version);
