using NuGet.Versioning;

namespace Sdk.Containers.References;

/// <summary>
/// Tags from a project version, the way release pipelines tag images: a stable 1.4.2 gets 1.4.2, 1.4, 1 and latest;
/// a pre-release gets only its own full version. Build metadata (+sha) is dropped: '+' is not allowed in a tag.
/// </summary>
public static class VersionTags
{
    public static IReadOnlyList<string> FromVersion(string version)
    {
        if (!NuGetVersion.TryParse(version?.Trim(), out var parsed))
        {
            throw new ContainerException(ErrorCodes.InvalidTag, $"ContainerImageTagsFromVersion is set, but the version '{version}' is not a version (such as 1.4.2 or 2.0.0-rc.1); set Version or ContainerImageTags.");
        }

        var full = parsed.ToNormalizedString();
        var plus = full.IndexOf('+');
        if (plus >= 0)
        {
            full = full[..plus];
        }

        if (parsed.IsPrerelease)
        {
            ImageReference.ValidateTag(full, "version tag");
            return [full];
        }

        string[] tags = [full, $"{parsed.Major}.{parsed.Minor}", $"{parsed.Major}", "latest"];
        return tags.Distinct(StringComparer.Ordinal).ToArray();
    }
}
