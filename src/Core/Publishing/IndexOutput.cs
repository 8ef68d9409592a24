using Sdk.Containers.Archives;
using Sdk.Containers.Digests;
using Sdk.Containers.Images;
using Sdk.Containers.References;
using Sdk.Containers.Registry;

namespace Sdk.Containers.Publishing;

/// <summary>
/// The images of one build for several platforms under one name, as buildx sends them: an OCI index (a Docker manifest
/// list when every image is Docker-format) pushed to registries or written as an oci-archive; a local engine gets the
/// image of its own platform, since classic engines cannot load an index; local directories get one subdirectory per
/// platform (linux_amd64, linux_arm64_v8).
/// </summary>
public static class IndexOutput
{
    public static (byte[] Bytes, string MediaType, Digest Digest) Index(IReadOnlyList<Image> images)
    {
        var docker = images.All(i => i.Format == ImageFormat.Docker);
        var index = new ImageIndex
        {
            MediaType = docker ? MediaTypes.DockerManifestList : MediaTypes.OciIndex,
            Manifests = images.Select(i => i.ManifestDescriptor(withPlatform: true)).ToArray(),
        };
        var bytes = ImageJson.Serialize(index);
        return (bytes, index.MediaType!, Digest.Compute(bytes));
    }

    public static async Task<Digest> DeliverAsync(IReadOnlyList<Image> images, IReadOnlyList<string> names, IReadOnlyList<ImageOutput> outputs, RegistrySession registries, DateTimeOffset timestamp, IBuildLog log, CancellationToken cancellationToken)
    {
        var references = names.Select(n => ImageReference.Parse(n, "-t")).ToArray();
        var (bytes, mediaType, digest) = Index(images);
        var platforms = string.Join(", ", images.Select(i => i.Config.Platform));
        log.Info($"Index {digest} for {platforms}");
        var repoTags = references.Select(r => ImageNaming.Short($"{r.Registry}/{r.Repository}:{r.Tag ?? "latest"}")).ToArray();
        foreach (var output in outputs)
        {
            switch (output.Kind)
            {
                case ImageOutputKind.OciArchive:
                    await OciArchiveWriter.WriteIndexAsync(images, bytes, mediaType, repoTags.FirstOrDefault() ?? "image:latest", output.Destination!, timestamp, cancellationToken).ConfigureAwait(false);
                    log.Info($"Wrote the index of {platforms} to the oci-archive {output.Destination} (digest {digest})");
                    break;
                case ImageOutputKind.Registry:
                    foreach (var (location, tags) in ImageOutput.RegistryTargets(references))
                    {
                        await new RegistryPusher(registries).PushIndexAsync(images, bytes, mediaType, location, tags, cancellationToken).ConfigureAwait(false);
                        log.Info($"Pushed the index of {platforms} to {location.Registry}/{location.Repository} ({string.Join(", ", tags)}); digest {digest}");
                    }

                    break;
                case ImageOutputKind.Daemon:
                    var host = Dockerfiles.DockerfileBuilder.HostPlatform();
                    var own = images.FirstOrDefault(i => host.Accepts(i.Config.Platform))
                        ?? throw new ContainerException(ErrorCodes.PlatformNotFound, $"None of the platforms built ({platforms}) is this machine's ({host}), so there is nothing to load; push the index, or write it with --output type=oci,dest=FILE.");
                    await ImageOutput.DeliverAsync(own, names, [output], registries, timestamp, log, cancellationToken).ConfigureAwait(false);
                    break;
                case ImageOutputKind.Local:
                    foreach (var image in images)
                    {
                        var directory = Path.Combine(output.Destination!, image.Config.Platform.ToString().Replace('/', '_'));
                        await ImageOutput.DeliverAsync(image, names, [new ImageOutput(ImageOutputKind.Local, directory)], registries, timestamp, log, cancellationToken).ConfigureAwait(false);
                    }

                    break;
                default:
                    throw new ContainerException(ErrorCodes.InvalidOutput, $"A build for several platforms ({platforms}) makes an index, which a {(output.Kind == ImageOutputKind.DockerArchive ? "docker-archive" : "plain OCI layout directory")} cannot hold here; use --output type=oci,dest=FILE.tar, --push, or --load (this machine's platform).");
            }
        }

        return digest;
    }
}
