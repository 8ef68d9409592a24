using Sdk.Containers.Archives;
using Sdk.Containers.References;

namespace Sdk.Containers.Targets;

/// <summary>A `docker load` tarball (manifest.json and an OCI layout over one set of blobs).</summary>
public sealed class DockerArchiveTarget(string path, DateTimeOffset timestamp, IBuildLog log) : IImageTarget
{
    public bool WantsCompressedLayers => false;

    public async Task<TargetResult> WriteAsync(ImageArtifact artifact, IReadOnlyList<ImageReference> names, CancellationToken cancellationToken)
    {
        var image = artifact.Single ?? throw NoIndexHere(artifact, "docker-archive");
        await DockerArchiveWriter.WriteAsync(image, names, path, timestamp, cancellationToken).ConfigureAwait(false);
        log.Info($"Wrote {TargetNames.Describe(names)} to {path} (image ID {image.ConfigDigest}, digest {image.ManifestDigest})");
        return new TargetResult { ArchivePath = path };
    }

    internal static ContainerException NoIndexHere(ImageArtifact artifact, string what)
        => new(ErrorCodes.InvalidOutput, $"A build for several platforms ({artifact.Platforms}) makes an index, which a {what} cannot hold here; use --output type=oci,dest=FILE.tar, --push, or --load (this machine's platform).");
}

/// <summary>
/// An oci-archive: an OCI image layout in a tarball, holding one image or an index with every platform's. Attached
/// documents stay out: an archive is for engines and `docker load`, whose importers take every index.json entry for
/// an image (an OCI layout directory, or ContainerSbomDirectory, holds them).
/// </summary>
public sealed class OciArchiveTarget(string path, DateTimeOffset timestamp, IBuildLog log) : IImageTarget
{
    private static readonly ImageReference UnnamedIndex = ImageReference.Parse("image:latest");

    public async Task<TargetResult> WriteAsync(ImageArtifact artifact, IReadOnlyList<ImageReference> names, CancellationToken cancellationToken)
    {
        // index.json carries one name (OCI tools select an image by its ref.name, one per entry). An unnamed index
        // is still selectable as :latest, as buildx names it.
        var name = names.FirstOrDefault() ?? (artifact.Index is null ? null : UnnamedIndex);
        if (artifact.Index is { } index)
        {
            await OciArchiveWriter.WriteIndexAsync(artifact.Images, index.Bytes, index.MediaType, name, path, timestamp, cancellationToken).ConfigureAwait(false);
            log.Info($"Wrote the index of {artifact.Platforms} as {name!.FamiliarName} to the oci-archive {path} (digest {index.Digest})");
        }
        else
        {
            await OciArchiveWriter.WriteAsync(artifact.Images[0], name, path, timestamp, cancellationToken).ConfigureAwait(false);
            log.Info($"Wrote {TargetNames.Describe(name is null ? [] : [name])} to the oci-archive {path} (digest {artifact.Digest})");
        }

        return new TargetResult { ArchivePath = path };
    }
}

/// <summary>An OCI image layout directory, created or added to (an image already there under the same tag is replaced).</summary>
public sealed class OciLayoutTarget(string directory, IBuildLog log) : IImageTarget
{
    public async Task<TargetResult> WriteAsync(ImageArtifact artifact, IReadOnlyList<ImageReference> names, CancellationToken cancellationToken)
    {
        var image = artifact.Single ?? throw DockerArchiveTarget.NoIndexHere(artifact, "plain OCI layout directory");
        // One entry per tag in index.json would be as valid; the layout holds the first name, as the index reads it.
        var name = names.FirstOrDefault();
        await OciLayoutWriter.WriteAsync(image, name, directory, cancellationToken, artifact.Referrers).ConfigureAwait(false);
        log.Info($"Wrote {TargetNames.Describe(name is null ? [] : [name])} ({image.Config.Platform}) to the OCI layout {directory} (digest {image.ManifestDigest})");
        return TargetResult.Nothing;
    }
}

/// <summary>The image's files unpacked into a directory (buildx's type=local); an index gets one directory per platform.</summary>
public sealed class RootfsTarget(string directory, IBuildLog log) : IImageTarget
{
    public async Task<TargetResult> WriteAsync(ImageArtifact artifact, IReadOnlyList<ImageReference> names, CancellationToken cancellationToken)
    {
        foreach (var image in artifact.Images)
        {
            var root = artifact.Index is null ? directory : Path.Combine(directory, image.Config.Platform.ToString().Replace('/', '_'));
            Directory.CreateDirectory(root);
            for (var i = 0; i < image.Layers.Count; i++)
            {
                await Unpacking.LayerUnpacker.UnpackLayerAsync(image.Layers[i], root, $"layer {i + 1}", cancellationToken).ConfigureAwait(false);
            }

            log.Info($"Unpacked the image's files into {root}");
        }

        return TargetResult.Nothing;
    }
}
