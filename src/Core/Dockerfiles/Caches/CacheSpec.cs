using Sdk.Containers.References;

namespace Sdk.Containers.Dockerfiles.Caches;

public enum CacheMode
{
    /// <summary>Only the steps whose layers the final image holds (and steps that make no layer).</summary>
    Min,

    /// <summary>Every step of every stage the build ran.</summary>
    Max,
}

/// <summary>
/// A step cache outside this machine, in buildx's syntax: <c>type=registry,ref=REF[,mode=min|max]</c> or
/// <c>type=local,dest=DIR[,mode=…]</c> to export, <c>type=registry,ref=REF</c> or <c>type=local,src=DIR</c> to import.
/// A bare reference means type=registry.
/// </summary>
public sealed record CacheSpec(ImageReference? Reference, string? Directory, CacheMode Mode, bool Export = false)
{
    public override string ToString() => Reference is { } reference ? $"type=registry,ref={reference}" : $"type=local,{(Export ? "dest" : "src")}={Directory}";

    /// <param name="what">The option or property it came from (--cache-to, ContainerCacheFrom), for messages.</param>
    /// <param name="export">Whether the cache is written (dest=) or read (src=).</param>
    public static CacheSpec Parse(string value, string what, bool export)
    {
        var text = value.Trim();
        if (!text.Contains('='))
        {
            return new CacheSpec(ImageReference.Parse(text, $"{what} image"), null, CacheMode.Min, export);
        }

        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = part.IndexOf('=');
            if (equals <= 0 || !fields.TryAdd(part[..equals].ToLowerInvariant(), part[(equals + 1)..]))
            {
                throw Invalid(value, what, $"'{part}' is not a key=value pair given once");
            }
        }

        var mode = fields.Remove("mode", out var m) ? m.ToLowerInvariant() switch
        {
            "min" => CacheMode.Min,
            "max" => CacheMode.Max,
            _ => throw Invalid(value, what, $"mode is '{m}'; it is min or max"),
        } : CacheMode.Min;

        // What buildx also accepts and that changes nothing here: layers are cached as they were built.
        fields.Remove("compression");
        fields.Remove("compression-level");
        fields.Remove("ignore-error");
        var type = fields.Remove("type", out var t) ? t : "registry";
        var wrongSide = export ? "src" : "dest";
        if (type == "local" && fields.ContainsKey(wrongSide))
        {
            throw Invalid(value, what, $"'{wrongSide}' is not a field of a type=local cache (a local cache {(export ? "is written to dest=" : "is read from src=")})");
        }

        CacheSpec spec = type switch
        {
            "registry" => new CacheSpec(ImageReference.Parse(Take(fields, "ref", value, what), $"{what} ref"), null, mode, export),
            "local" => new CacheSpec(null, Path.GetFullPath(Take(fields, export ? "dest" : "src", value, what)), mode, export),
            _ => throw Invalid(value, what, $"type is '{type}'; it is registry or local"),
        };
        return fields.Count == 0 ? spec : throw Invalid(value, what, $"'{fields.Keys.First()}' is not a field of a type={type} cache");
    }

    private static string Take(Dictionary<string, string> fields, string key, string value, string what)
        => fields.Remove(key, out var found) && found.Length > 0 ? found : throw Invalid(value, what, $"it has no {key}=");

    private static ContainerException Invalid(string value, string what, string why)
        => new(ErrorCodes.InvalidCache, $"{what} '{value}' is not a cache: {why}. Write type=registry,ref=registry.example.com/team/app:cache[,mode=max] or type=local,{(what.Contains("from", StringComparison.OrdinalIgnoreCase) ? "src" : "dest")}=DIR.");
}
