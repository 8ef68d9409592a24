namespace Sdk.Containers.References;

/// <summary>A repository on a registry, without tag or digest.</summary>
public sealed record RepositoryLocation(string Registry, string Repository)
{
    public override string ToString() => $"{Registry}/{Repository}";

    /// <summary>repo:tag, or repo@sha256:… for a digest.</summary>
    public string Name(string tagOrDigest) => NameOf(ToString(), tagOrDigest);

    /// <summary>How a repository and a tag or digest are written: with ':' before a tag, '@' before a digest.</summary>
    public static string NameOf(string repository, string tagOrDigest)
        => Digests.Digest.TryParse(tagOrDigest, out _) ? $"{repository}@{tagOrDigest}" : $"{repository}:{tagOrDigest}";
}
