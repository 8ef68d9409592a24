using Sdk.Containers.Daemons;

namespace Sdk.Containers.Publishing;

/// <summary>
/// Where an image goes when neither a registry nor a file was asked for: the local Docker or Podman engine, or, when
/// none answers, a tarball beside the publish folder with a warning. Chosen before any work, so a mistyped
/// LocalRegistry or a missing engine fails fast.
/// </summary>
internal sealed record LocalEngineOutput(LocalDaemon? Engine, string? FallbackArchivePath, string? Preferred)
{
    public static async Task<LocalEngineOutput> ChooseAsync(string? localRegistry, string? fallbackArchiveOutputPath, string repository, IBuildLog log, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(fallbackArchiveOutputPath) && localRegistry is null)
        {
            throw new ContainerException(ErrorCodes.InvalidOutput, "There is nowhere to put the image: set ContainerRegistry to push it, ContainerArchiveOutputPath to write a tarball, or LocalRegistry to load it into Docker or Podman.");
        }

        var engine = await LocalDaemon.DetectAsync(localRegistry, log, cancellationToken).ConfigureAwait(false);
        if (engine is not null)
        {
            return new LocalEngineOutput(engine, null, localRegistry);
        }

        if (!string.IsNullOrWhiteSpace(fallbackArchiveOutputPath))
        {
            return new LocalEngineOutput(null, ContainerPublisher.ResolveArchivePath(fallbackArchiveOutputPath, repository), localRegistry);
        }

        throw new ContainerException(ErrorCodes.EngineMissing, $"LocalRegistry is {localRegistry}, but no such engine answered. Start it, or set ContainerRegistry or ContainerArchiveOutputPath.");
    }

    /// <summary>The output this stands for, for <see cref="ImageOutput.DeliverAsync"/>.</summary>
    public ImageOutput AsOutput() => Engine is not null
        ? new ImageOutput(ImageOutputKind.Daemon) { Engine = Engine }
        : new ImageOutput(ImageOutputKind.DockerArchive, FallbackArchivePath);

    public void WarnFallback(IBuildLog log)
        => log.Warning(ErrorCodes.EngineFallback, $"No {Preferred ?? "Docker or Podman"} engine answered, so the image was written to {FallbackArchivePath} instead. Load it with `docker load -i {FallbackArchivePath}`, or set ContainerRegistry or ContainerArchiveOutputPath.");
}
