using Sdk.Containers.References;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Targets;

/// <summary>
/// Skips writing a file that already holds this artifact under these names: the build cache records what was written
/// with the file's stamp (path, size, modification time), so a file changed or replaced since is written again.
/// </summary>
public sealed class UpToDateFileTarget(IImageTarget inner, string path, BuildCache cache, DateTimeOffset timestamp, IBuildLog log) : IImageTarget
{
    public bool WantsCompressedLayers => inner.WantsCompressedLayers;

    public async Task<TargetResult> WriteAsync(ImageArtifact artifact, IReadOnlyList<ImageReference> names, CancellationToken cancellationToken)
    {
        var key = BuildCache.Key(CacheKinds.Outputs, [Path.GetFullPath(path)]);
        var familiar = names.Select(n => n.FamiliarName).ToArray();
        var seconds = timestamp.ToUnixTimeSeconds();
        if (cache.TryGet(CacheKinds.Outputs, key, out var written) && written.FileStamp == BuildCache.FileStamp(path)
            && written.Digest == artifact.Digest && written.Timestamp == seconds && written.Names.SequenceEqual(familiar, StringComparer.Ordinal))
        {
            log.Info($"{path} is up to date: it already holds {TargetNames.Describe(names)} ({artifact.Digest})");
            return new TargetResult { ArchivePath = path };
        }

        var result = await inner.WriteAsync(artifact, names, cancellationToken).ConfigureAwait(false);
        await cache.SetAsync(CacheKinds.Outputs, key, new OutputRecord(artifact.Digest, familiar, seconds, BuildCache.FileStamp(path)), cancellationToken).ConfigureAwait(false);
        return result;
    }
}

/// <summary>Gives an image OCI media types before it reaches the target, as buildx's type=oci outputs have them.</summary>
public sealed class OciMediaTypesTarget(IImageTarget inner, IBuildLog log) : IImageTarget
{
    public bool WantsCompressedLayers => inner.WantsCompressedLayers;

    public async Task<TargetResult> WriteAsync(ImageArtifact artifact, IReadOnlyList<ImageReference> names, CancellationToken cancellationToken)
        => await inner.WriteAsync(await artifact.WithOciMediaTypesAsync(log, cancellationToken).ConfigureAwait(false), names, cancellationToken).ConfigureAwait(false);
}

/// <summary>The tarball written because no local engine answered: written like any archive, then the warning.</summary>
public sealed class EngineFallbackTarget(IImageTarget archive, string path, string? preferred, IBuildLog log) : IImageTarget
{
    public bool WantsCompressedLayers => archive.WantsCompressedLayers;

    public async Task<TargetResult> WriteAsync(ImageArtifact artifact, IReadOnlyList<ImageReference> names, CancellationToken cancellationToken)
    {
        var result = await archive.WriteAsync(artifact, names, cancellationToken).ConfigureAwait(false);
        log.Warning(ErrorCodes.EngineFallback, $"No {preferred ?? "Docker or Podman"} engine answered, so the image was written to {path} instead. Load it with `docker load -i {path}`, or set ContainerRegistry or ContainerArchiveOutputPath.");
        return result;
    }
}
