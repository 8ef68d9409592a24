using Sdk.Containers.References;
using Sdk.Containers.Registry;

namespace Sdk.Containers.Targets;

/// <summary>
/// Somewhere an image (or index) goes under its names: a docker-archive or oci-archive file, an OCI layout, a local
/// engine, a registry, or an unpacked file system. Files are written under a temporary name and renamed when complete;
/// each target says in the log what it did.
/// </summary>
public interface IImageTarget
{
    Task<TargetResult> WriteAsync(ImageArtifact artifact, IReadOnlyList<ImageReference> names, CancellationToken cancellationToken);

    /// <summary>
    /// False where the layers go to an engine that unpacks them at once (a load, a `docker load` tarball): compressing
    /// them there is work for nothing, as `docker save` knows. Anything stored or sent on wants them compressed.
    /// </summary>
    bool WantsCompressedLayers => true;
}

/// <summary>What a target did, for the host's outputs (MSBuild items, the CLI's stdout).</summary>
public sealed record TargetResult
{
    public static readonly TargetResult Nothing = new();

    /// <summary>The tarball written (docker-archive, oci-archive), for the host to report.</summary>
    public string? ArchivePath { get; init; }

    public IReadOnlyList<PushResult> Pushes { get; init; } = [];

    /// <summary>docker or podman, when the image was loaded (or found there already).</summary>
    public string? LoadedInto { get; init; }
}

/// <summary>How the log names what a target received.</summary>
internal static class TargetNames
{
    public static string Describe(IReadOnlyList<ImageReference> names)
        => names.Count == 0 ? "the image" : string.Join(", ", names.Select(n => n.FamiliarName));
}
