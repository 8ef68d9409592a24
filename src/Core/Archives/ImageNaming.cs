namespace Sdk.Containers.Archives;

/// <summary>How a repository and tag are recorded in the index.json of a layout or archive.</summary>
internal static class ImageNaming
{
    public const string RefNameAnnotation = "org.opencontainers.image.ref.name";
    public const string ContainerdNameAnnotation = "io.containerd.image.name";

    /// <summary>
    /// containerd-backed engines import the name from io.containerd.image.name and need it fully qualified, as
    /// `docker save` writes it (docker.io/library/name:tag for a short name).
    /// </summary>
    public static string FullyQualified(string repoTag)
    {
        var slash = repoTag.IndexOf('/');
        var first = slash < 0 ? null : repoTag[..slash];
        var hasRegistry = first is not null && (first.Contains('.') || first.Contains(':') || first == "localhost");
        if (hasRegistry)
        {
            return repoTag;
        }

        return slash < 0 ? $"docker.io/library/{repoTag}" : $"docker.io/{repoTag}";
    }

    /// <summary>The name as Docker shows it: docker.io/library/app:1 is app:1, docker.io/team/app:1 is team/app:1.</summary>
    public static string Short(string repoTag)
        => repoTag.StartsWith("docker.io/library/", StringComparison.Ordinal) ? repoTag["docker.io/library/".Length..]
            : repoTag.StartsWith("docker.io/", StringComparison.Ordinal) ? repoTag["docker.io/".Length..]
            : repoTag;

    public static string TagOf(string repoTag)
    {
        var lastSlash = repoTag.LastIndexOf('/');
        var colon = repoTag.LastIndexOf(':');
        return colon > lastSlash ? repoTag[(colon + 1)..] : "latest";
    }
}
