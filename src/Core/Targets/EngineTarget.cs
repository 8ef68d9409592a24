using Sdk.Containers.Daemons;
using Sdk.Containers.References;

namespace Sdk.Containers.Targets;

/// <summary>
/// The local Docker or Podman engine, streamed into `load` with no file in between. An index loads the image of this
/// machine's platform, since classic engines cannot load an index.
/// </summary>
/// <param name="engine">The engine, when the host already chose one; else the first that answers.</param>
/// <param name="preferred">LocalRegistry: Docker or Podman, when looking for one.</param>
public sealed class EngineTarget(LocalDaemon? engine, string? preferred, DateTimeOffset timestamp, IBuildLog log) : IImageTarget
{
    public bool WantsCompressedLayers => false;

    public async Task<TargetResult> WriteAsync(ImageArtifact artifact, IReadOnlyList<ImageReference> names, CancellationToken cancellationToken)
    {
        var image = artifact.Single ?? OwnPlatform(artifact);
        var daemon = engine ?? await LocalDaemon.DetectAsync(preferred, log, cancellationToken, image, names).ConfigureAwait(false)
            ?? throw new ContainerException(ErrorCodes.EngineMissing, "Loading the image needs a Docker or Podman engine, and none answered. Start one, or write the image to a file (--output type=docker,dest=FILE; ContainerArchiveOutputPath), or push it.");
        var of = artifact.Index is null ? string.Empty : $" (the {image.Config.Platform} image of the index)";
        log.Info(await daemon.LoadAsync(image, names, timestamp, cancellationToken).ConfigureAwait(false)
            ? $"Loaded {TargetNames.Describe(names)}{of} into {daemon.Command} (image ID {image.ConfigDigest})"
            : $"{daemon.Command} already has {TargetNames.Describe(names)}{of} as image ID {image.ConfigDigest}: nothing to load");
        return new TargetResult { LoadedInto = daemon.Command };
    }

    private static Images.Image OwnPlatform(ImageArtifact artifact)
    {
        var host = Dockerfiles.DockerfileBuilder.HostPlatform();
        return artifact.Images.FirstOrDefault(i => host.Accepts(i.Config.Platform))
            ?? throw new ContainerException(ErrorCodes.PlatformNotFound, $"None of the platforms built ({artifact.Platforms}) is this machine's ({host}), so there is nothing to load; push the index, or write it to an oci-archive (--output type=oci,dest=FILE; ContainerArchiveOutputPath).");
    }
}
