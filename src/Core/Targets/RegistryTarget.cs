using Sdk.Containers.References;
using Sdk.Containers.Registry;

namespace Sdk.Containers.Targets;

/// <summary>The registries of the image's names: each repository gets the blobs once and every tag of it.</summary>
public sealed class RegistryTarget(RegistrySession registries, IBuildLog log) : IImageTarget
{
    public async Task<TargetResult> WriteAsync(ImageArtifact artifact, IReadOnlyList<ImageReference> names, CancellationToken cancellationToken)
    {
        if (names.Count == 0)
        {
            throw new ContainerException(ErrorCodes.InvalidOutput, "There is no name to push the image to: give it one on a registry (-t registry.example.com/team/app:tag; or ContainerRegistry, ContainerRepository and ContainerImageTags).");
        }

        var pusher = new RegistryPusher(registries);
        var pushes = new List<PushResult>();
        foreach (var repository in names.GroupBy(n => (n.Registry, n.Repository)))
        {
            var location = new RepositoryLocation(repository.Key.Registry, repository.Key.Repository);
            // A name with a digest and no tag pushes the manifest by its digest alone.
            var tags = repository.Select(n => n.Tag ?? n.Digest?.ToString()).OfType<string>().Distinct(StringComparer.Ordinal).ToArray();
            var push = artifact.Index is { } index
                ? await pusher.PushIndexAsync(artifact.Images, index.Bytes, index.MediaType, location, tags, cancellationToken).ConfigureAwait(false)
                : await pusher.PushAsync(artifact.Images[0], location, tags, cancellationToken).ConfigureAwait(false);
            var what = artifact.Index is null ? string.Empty : $"the index of {artifact.Platforms} to ";
            log.Info($"Pushed {what}{location.Registry}/{location.Repository} ({string.Join(", ", tags)}): {push.BlobsUploaded} blobs uploaded ({push.BytesUploaded:N0} bytes), {push.BlobsMounted} mounted, {push.BlobsExisting} already there; digest {artifact.Digest}");
            pushes.Add(push);
        }

        return new TargetResult { Pushes = pushes };
    }
}
