namespace Sdk.Containers.Building;

/// <summary>
/// Annotations for the image manifest and for the index, as buildx's <c>--annotation [manifest:|index:]KEY=VALUE</c>
/// gives them (no prefix: the manifest).
/// </summary>
public sealed record AnnotationSet(IReadOnlyDictionary<string, string> Manifest, IReadOnlyDictionary<string, string> Index)
{
    public static AnnotationSet Empty { get; } = new(new Dictionary<string, string>(), new Dictionary<string, string>());

    public static AnnotationSet Parse(IEnumerable<string> values, string option)
    {
        var manifest = new Dictionary<string, string>(StringComparer.Ordinal);
        var index = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var value in values)
        {
            var equals = value.IndexOf('=');
            if (equals <= 0)
            {
                throw new ContainerException(ErrorCodes.InvalidAnnotation, $"{option} {value}: write [manifest:|index:]KEY=VALUE.");
            }

            var key = value[..equals];
            var into = manifest;
            var colon = key.IndexOf(':');

            // Keys are reverse domain names and hold no colon, so a colon ends a prefix.
            if (colon >= 0)
            {
                into = key[..colon] switch
                {
                    "manifest" => manifest,
                    "index" => index,
                    var other => throw new ContainerException(ErrorCodes.InvalidAnnotation, $"{option} {value}: '{other}' is not a place for annotations; write manifest:KEY=VALUE or index:KEY=VALUE."),
                };
                key = key[(colon + 1)..];
            }

            if (key.Length == 0)
            {
                throw new ContainerException(ErrorCodes.InvalidAnnotation, $"{option} {value}: the key is empty.");
            }

            into[key] = value[(equals + 1)..];
        }

        return new AnnotationSet(manifest, index);
    }
}
