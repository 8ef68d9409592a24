namespace Sdk.Containers.References;

/// <summary>A repository on a registry, without tag or digest.</summary>
public sealed record RepositoryLocation(string Registry, string Repository)
{
    public override string ToString() => $"{Registry}/{Repository}";
}
