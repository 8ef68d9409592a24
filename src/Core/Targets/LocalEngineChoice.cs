using Sdk.Containers.Daemons;

namespace Sdk.Containers.Targets;

/// <summary>
/// Where an image goes when neither a registry nor a file was asked for: the local Docker or Podman engine, or, when
/// none answers, a tarball beside the publish folder with a warning. Chosen before any work, so a mistyped
/// LocalRegistry or a missing engine fails fast.
/// </summary>
public static class LocalEngineChoice
{
    /// <param name="fallbackArchivePath">The tarball to write when no engine answers (resolved to a file already).</param>
    public static async Task<IImageTarget> ChooseAsync(string? localRegistry, string? fallbackArchivePath, DateTimeOffset timestamp, IBuildLog log, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(fallbackArchivePath) && localRegistry is null)
        {
            throw new ContainerException(ErrorCodes.InvalidOutput, "There is nowhere to put the image: set ContainerRegistry to push it, ContainerArchiveOutputPath to write a tarball, or LocalRegistry to load it into Docker or Podman.");
        }

        var engine = await LocalDaemon.DetectAsync(localRegistry, log, cancellationToken).ConfigureAwait(false);
        if (engine is not null)
        {
            return new EngineTarget(engine, localRegistry, timestamp, log);
        }

        if (!string.IsNullOrWhiteSpace(fallbackArchivePath))
        {
            return new EngineFallbackTarget(new DockerArchiveTarget(fallbackArchivePath, timestamp, log), fallbackArchivePath, localRegistry, log);
        }

        throw new ContainerException(ErrorCodes.EngineMissing, $"LocalRegistry is {localRegistry}, but no such engine answered. Start it, or set ContainerRegistry or ContainerArchiveOutputPath.");
    }
}
