using System.Text.Json;
using Sdk.Containers.Layers;

namespace Sdk.Containers.Publishing;

public enum ContainerLayering
{
    /// <summary>Runtime files, then NuGet package assets, then extra layers, then the app's own files.</summary>
    ByChangeRate,

    /// <summary>The whole publish folder in one layer.</summary>
    Single,
}

/// <summary>Files to add as a layer of their own (a ContainerLayer item).</summary>
/// <param name="Source">A file or a directory.</param>
/// <param name="Destination">Where it goes in the image; a trailing '/' puts a file inside that directory.</param>
/// <param name="Mode">Octal file mode for the files (e.g. "0755"), or null to keep the executable bit as it is.</param>
/// <param name="Owner">user[:group] for the files (see <see cref="FileOwner"/>), or null for root's.</param>
public sealed record ExtraLayer(string Source, string Destination, string? Mode = null, string? Owner = null);

/// <summary>A layer's entries as the publish folder or a ContainerLayer item gives them (root-owned), and who is to
/// own the entry at <paramref name="OwnedPath"/> and everything under it (the working directory for the publish
/// folder's layers, the destination for an item): an item's Owner, or null for the app files' owner
/// (ContainerAppFilesOwner). See <see cref="LayerOwnership"/>.</summary>
public sealed record PublishLayer(LayerPlan Plan, string OwnedPath, FileOwner? Owner = null);

/// <summary>
/// Splits a publish folder into layers ordered from rarely to often changing, as Jib does, so that a code change
/// re-uploads only the small top layer: the .NET runtime of a self-contained app, the NuGet package assets (both
/// known from the app's deps.json), extra layers, and last the app's own files.
/// </summary>
public static class PublishLayering
{
    private enum Kind
    {
        Runtime,
        Packages,
        App,
    }

    public static IReadOnlyList<PublishLayer> Plan(string publishDirectory, string imageDirectory, string assemblyName, ContainerLayering layering, IReadOnlyList<ExtraLayer> extras)
    {
        var root = new DirectoryInfo(publishDirectory);
        if (!root.Exists)
        {
            throw new ContainerException(ErrorCodes.PublishDirectoryMissing, $"The publish directory '{publishDirectory}' does not exist; run the Publish target before PublishContainer.");
        }

        var target = LayerPlan.NormalizePath(imageDirectory);
        var kinds = layering == ContainerLayering.Single ? null : Classify(Path.Combine(publishDirectory, assemblyName + ".deps.json"));
        var groups = new Dictionary<Kind, List<LayerEntry>> { [Kind.Runtime] = [], [Kind.Packages] = [], [Kind.App] = [] };
        groups[Kind.App].Add(new LayerEntry(target, LayerEntryKind.Directory, LayerEntry.DirectoryMode));
        foreach (var info in root.EnumerateFileSystemInfos("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
        {
            if (info is DirectoryInfo && info.LinkTarget is null)
            {
                // Directories come with the files in them; an empty one belongs to the app.
                if (!Directory.EnumerateFileSystemEntries(info.FullName).Any())
                {
                    groups[Kind.App].Add(LayerPlan.FromFileSystem(info, Join(target, Relative(root, info))));
                }

                continue;
            }

            var relative = Relative(root, info);
            var kind = kinds is not null && kinds.TryGetValue(relative, out var k) ? k : Kind.App;
            groups[kind].Add(LayerPlan.FromFileSystem(info, Join(target, relative)));
        }

        var plans = new List<PublishLayer>();
        if (groups[Kind.Runtime].Count > 0)
        {
            plans.Add(new PublishLayer(LayerPlan.Create(groups[Kind.Runtime], ".NET runtime"), target));
        }

        if (groups[Kind.Packages].Count > 0)
        {
            plans.Add(new PublishLayer(LayerPlan.Create(groups[Kind.Packages], "NuGet packages"), target));
        }

        plans.AddRange(extras.Select(PlanExtra));
        plans.Add(new PublishLayer(LayerPlan.Create(groups[Kind.App], $"{assemblyName} app files"), target));
        return plans;
    }

    private static string Relative(DirectoryInfo root, FileSystemInfo info) => Path.GetRelativePath(root.FullName, info.FullName).Replace('\\', '/');

    private static string Join(string target, string relative) => target.Length == 0 ? relative : $"{target}/{relative}";

    private static PublishLayer PlanExtra(ExtraLayer extra)
    {
        var mode = ParseMode(extra.Mode, extra.Source);
        var owner = FileOwner.Parse(extra.Owner, $"The Owner of the ContainerLayer item '{extra.Source}'") ?? FileOwner.Root;
        if (Directory.Exists(extra.Source))
        {
            var plan = LayerPlan.FromDirectory(extra.Source, extra.Destination, $"files from {extra.Source}");
            var moded = mode is null ? plan : LayerPlan.Create(plan.Entries.Select(e => e.Kind == LayerEntryKind.File ? e with { Mode = mode.Value } : e), plan.Description);
            return new PublishLayer(moded, extra.Destination, owner);
        }

        if (!File.Exists(extra.Source))
        {
            throw new ContainerException(ErrorCodes.InvalidOutput, $"The ContainerLayer item '{extra.Source}' names no file or directory.");
        }

        var destination = extra.Destination.EndsWith('/') ? extra.Destination + Path.GetFileName(extra.Source) : extra.Destination;
        var entry = LayerPlan.FromFileSystem(new FileInfo(extra.Source), destination);
        return new PublishLayer(LayerPlan.Create([mode is null ? entry : entry with { Mode = mode.Value }], $"{Path.GetFileName(extra.Source)}"), destination, owner);
    }

    private static UnixFileMode? ParseMode(string? mode, string source)
    {
        if (string.IsNullOrWhiteSpace(mode))
        {
            return null;
        }

        try
        {
            var value = Convert.ToInt32(mode.Trim(), 8);
            return value is >= 0 and <= 0b111_111_111_111 ? (UnixFileMode)value : throw new FormatException();
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or OverflowException)
        {
            throw new ContainerException(ErrorCodes.InvalidOutput, $"The ContainerLayer item '{source}' has Mode '{mode}'; write an octal mode such as 0644 or 0755.");
        }
    }

    /// <summary>
    /// Maps publish-relative paths to what put them there, from deps.json: runtime packs (self-contained apps) and
    /// NuGet packages. Runtime-specific assets are published under their file name (RID-specific publish) or their
    /// full runtimes/... path (portable publish); resources under their culture folder.
    /// </summary>
    private static Dictionary<string, Kind>? Classify(string depsJson)
    {
        if (!File.Exists(depsJson))
        {
            return null;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(depsJson));
        }
        catch (JsonException)
        {
            // Without a readable deps.json nothing is known about the files: they all go in the app layer.
            return null;
        }

        using var _ = document;
        var root = document.RootElement;
        if (!root.TryGetProperty("libraries", out var libraries) || !root.TryGetProperty("targets", out var targets)
            || !root.TryGetProperty("runtimeTarget", out var runtimeTarget) || !runtimeTarget.TryGetProperty("name", out var targetName)
            || !targets.TryGetProperty(targetName.GetString()!, out var target))
        {
            return null;
        }

        var result = new Dictionary<string, Kind>(StringComparer.Ordinal);
        foreach (var library in target.EnumerateObject())
        {
            var type = libraries.TryGetProperty(library.Name, out var info) && info.TryGetProperty("type", out var t) ? t.GetString() : null;
            var kind = type switch
            {
                "runtimepack" => Kind.Runtime,
                "package" => Kind.Packages,
                _ => (Kind?)null,
            };
            if (kind is null)
            {
                continue;
            }

            foreach (var section in new[] { "runtime", "native" })
            {
                if (library.Value.TryGetProperty(section, out var assets))
                {
                    foreach (var asset in assets.EnumerateObject())
                    {
                        result.TryAdd(Path.GetFileName(asset.Name), kind.Value);
                    }
                }
            }

            if (library.Value.TryGetProperty("runtimeTargets", out var runtimeTargets))
            {
                foreach (var asset in runtimeTargets.EnumerateObject())
                {
                    result.TryAdd(asset.Name, kind.Value);
                }
            }

            if (library.Value.TryGetProperty("resources", out var resources))
            {
                foreach (var asset in resources.EnumerateObject())
                {
                    if (asset.Value.TryGetProperty("locale", out var locale))
                    {
                        result.TryAdd($"{locale.GetString()}/{Path.GetFileName(asset.Name)}", kind.Value);
                    }
                }
            }
        }

        return result;
    }
}
