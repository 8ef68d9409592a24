using System.Text.RegularExpressions;
using Sdk.Containers.Digests;

namespace Sdk.Containers.References;

/// <summary>
/// An image reference as Docker parses it: [registry/]path[:tag][@digest]. A first component with a '.' or ':' or
/// equal to 'localhost' is a registry; Docker Hub names get their implied 'library/' prefix.
/// </summary>
public sealed partial record ImageReference(string Registry, string Repository, string? Tag, Digest? Digest)
{
    public const string DockerHub = "docker.io";
    public const int MaxNameLength = 255;

    public override string ToString()
    {
        var name = $"{Registry}/{Repository}";
        return $"{name}{(Tag is null ? string.Empty : ":" + Tag)}{(Digest is null ? string.Empty : "@" + Digest)}";
    }

    /// <summary>
    /// The name as Docker shows it and `docker load` records it: docker.io/library/app:1 is app:1,
    /// docker.io/team/app:1 is team/app:1, other registries stay in front.
    /// </summary>
    public string FamiliarName
    {
        get
        {
            var repository = Registry != DockerHub ? $"{Registry}/{Repository}"
                : Repository.StartsWith("library/", StringComparison.Ordinal) && Repository.IndexOf('/', "library/".Length) < 0 ? Repository["library/".Length..]
                : Repository;
            return $"{repository}{(Tag is null ? string.Empty : ":" + Tag)}{(Digest is null ? string.Empty : "@" + Digest)}";
        }
    }

    /// <summary>The name `docker load` can tag, familiar form (a digest alone is no tag): null without a tag.</summary>
    public string? RepoTag => Tag is null ? null : $"{(Digest is null ? FamiliarName : WithDigest(null).FamiliarName)}";

    /// <summary>The same repository and tag; the digest replaced (or dropped with null).</summary>
    public ImageReference WithDigest(Digest? digest) => this with { Digest = digest };

    /// <summary>
    /// The name for a repository (as ContainerRepository gives it) on a registry, or Docker Hub's naming with none.
    /// </summary>
    /// <remarks>Built from its parts, never parsed again: a registry host without a dot or port (an intranet
    /// "registry") would otherwise read as a Docker Hub path.</remarks>
    public static ImageReference Of(string? registry, string repository, string tag)
    {
        if (string.IsNullOrEmpty(registry))
        {
            return Parse($"{repository}:{tag}");
        }

        ValidateRepository(repository, "ContainerRepository");
        ValidateTag(tag, "ContainerImageTags");
        var hub = registry is DockerHub or "index.docker.io" or "registry-1.docker.io";
        return new ImageReference(hub ? DockerHub : registry, hub && !repository.Contains('/') ? "library/" + repository : repository, tag, null);
    }

    /// <summary>Like <see cref="Parse"/>, for names read from files (index.json annotations) that may not be valid.</summary>
    public static bool TryParse(string value, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ImageReference? reference)
    {
        try
        {
            reference = Parse(value);
            return true;
        }
        catch (ContainerException)
        {
            reference = null;
            return false;
        }
    }

    /// <summary>The host the distribution API is served from (Docker Hub's API lives apart from its name).</summary>
    public string ApiHost => Registry == DockerHub ? "registry-1.docker.io" : Registry;

    public static ImageReference Parse(string value, string what = "image reference")
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw Invalid(what, value, "it is empty");
        }

        value = value.Trim();
        Digest? digest = null;
        var at = value.IndexOf('@');
        if (at >= 0)
        {
            var digestText = value[(at + 1)..];
            if (!Digests.Digest.TryParse(digestText, out var parsed, out var error))
            {
                throw Invalid(what, value, error);
            }

            digest = parsed;
            value = value[..at];
        }

        string? tag = null;
        var lastSlash = value.LastIndexOf('/');
        var colon = value.LastIndexOf(':');
        if (colon > lastSlash)
        {
            tag = value[(colon + 1)..];
            value = value[..colon];
            ValidateTag(tag, what);
        }

        string registry;
        string path;
        var firstSlash = value.IndexOf('/');
        var first = firstSlash < 0 ? null : value[..firstSlash];
        if (first is not null && (first.Contains('.') || first.Contains(':') || first == "localhost" || first.Any(char.IsAsciiLetterUpper)))
        {
            registry = first;
            path = value[(firstSlash + 1)..];
            if (!RegistryPattern().IsMatch(registry))
            {
                throw Invalid(what, value, $"'{registry}' is not a valid registry host[:port]");
            }
        }
        else
        {
            registry = DockerHub;
            path = value;
        }

        if (registry is "index.docker.io" or "registry-1.docker.io")
        {
            registry = DockerHub;
        }

        ValidateRepository(path, what, value);
        if (registry == DockerHub && !path.Contains('/'))
        {
            path = "library/" + path;
        }

        return new ImageReference(registry, path, tag ?? (digest is null ? "latest" : null), digest);
    }

    public static void ValidateRepository(string repository, string what, string? whole = null)
    {
        whole ??= repository;
        if (repository.Length == 0)
        {
            throw Invalid(what, whole, "the repository name is empty");
        }

        if (repository.Any(char.IsAsciiLetterUpper))
        {
            throw Invalid(what, whole, $"the repository name '{repository}' has upper-case letters; repository names must be lower case (try '{repository.ToLowerInvariant()}')");
        }

        if (repository.Length > MaxNameLength)
        {
            throw Invalid(what, whole, $"the repository name is {repository.Length} characters long; at most {MaxNameLength} are allowed");
        }

        foreach (var component in repository.Split('/'))
        {
            if (!PathComponentPattern().IsMatch(component))
            {
                throw Invalid(what, whole, $"'{component}' is not a valid repository path component: use lower-case letters and digits, separated by '.', '_', '__' or '-'");
            }
        }
    }

    public static void ValidateTag(string tag, string what)
    {
        if (!TagPattern().IsMatch(tag))
        {
            throw new ContainerException(ErrorCodes.InvalidTag, $"The {what} has the tag '{tag}', which is not valid: a tag is 1 to 128 letters, digits, '_', '.' or '-', and does not start with '.' or '-'.");
        }
    }

    /// <summary>Makes a valid repository from a name such as an assembly name (lower case, other characters replaced).</summary>
    public static string NormalizeRepository(string name)
    {
        var lower = name.ToLowerInvariant();
        var replaced = InvalidRepositoryCharacters().Replace(lower, "-");
        var trimmed = replaced.Trim('-', '.', '_');
        return trimmed.Length == 0 ? "app" : trimmed;
    }

    private static ContainerException Invalid(string what, string value, string why)
        => new(ErrorCodes.InvalidImageReference, $"The {what} '{value}' is not valid: {why}.");

    [GeneratedRegex("^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")]
    private static partial Regex PathComponentPattern();

    [GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")]
    private static partial Regex TagPattern();

    [GeneratedRegex(@"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$")]
    private static partial Regex RegistryPattern();

    [GeneratedRegex("[^a-z0-9/._-]+")]
    private static partial Regex InvalidRepositoryCharacters();
}
