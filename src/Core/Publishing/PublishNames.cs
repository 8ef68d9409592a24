using Sdk.Containers.References;

namespace Sdk.Containers.Publishing;

/// <summary>
/// The names a publish gives its image: every tag in every registry of ContainerRegistry (one, or several separated
/// by ';', in the order given), or, with no registry, the repository alone, as Docker names a local image.
/// </summary>
public static class PublishNames
{
    /// <summary>ContainerRegistry as hosts: a scheme or trailing slash that users sometimes write is dropped.</summary>
    public static IReadOnlyList<string> Registries(string? value)
        => string.IsNullOrWhiteSpace(value)
            ? []
            : value.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Normalize).Distinct(StringComparer.OrdinalIgnoreCase).ToArray();

    /// <summary>Registry by registry, tag by tag: the first name is the first tag in the first registry.</summary>
    public static IReadOnlyList<ImageReference> For(IReadOnlyList<string> registries, string repository, IReadOnlyList<string> tags)
        => registries.Count == 0
            ? tags.Select(t => ImageReference.Of(null, repository, t)).ToArray()
            : registries.SelectMany(r => tags.Select(t => ImageReference.Of(r, repository, t))).ToArray();

    private static string Normalize(string registry)
    {
        var scheme = registry.IndexOf("://", StringComparison.Ordinal);
        var value = (scheme >= 0 ? registry[(scheme + 3)..] : registry).TrimEnd('/');
        if (value.Length == 0 || value.Contains('/'))
        {
            throw new ContainerException(ErrorCodes.InvalidImageReference, $"ContainerRegistry has '{registry}'; each registry must be a host with an optional port, such as registry.example.com or localhost:5000 (several are separated by ';').");
        }

        return value;
    }
}
