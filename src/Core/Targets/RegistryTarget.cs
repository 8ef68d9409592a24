using Sdk.Containers.References;
using Sdk.Containers.Registry;

namespace Sdk.Containers.Targets;

/// <summary>
/// The registries of the image's names: each repository gets the blobs once and every tag of it; with several
/// registries, one that fails does not stop the others, and the error names it.
/// </summary>
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
        var failures = new List<(string Registry, ContainerException Error)>();
        foreach (var registry in names.GroupBy(n => n.Registry, StringComparer.OrdinalIgnoreCase))
        {
            // Each registry is pushed on its own: one that fails keeps its tags as they were (the manifest goes last),
            // and the others still get the image.
            try
            {
                foreach (var repository in registry.GroupBy(n => n.Repository))
                {
                    pushes.Add(await PushAsync(pusher, artifact, new RepositoryLocation(registry.Key, repository.Key), repository.ToArray(), cancellationToken).ConfigureAwait(false));
                }
            }
            catch (ContainerException ex) when (names.Select(n => n.Registry).Distinct(StringComparer.OrdinalIgnoreCase).Count() > 1)
            {
                log.Info($"Pushing to {registry.Key} failed; going on with the other registries");
                failures.Add((registry.Key, ex));
            }
        }

        if (failures.Count > 0)
        {
            var done = pushes.Select(p => p.Destination.Registry).Distinct(StringComparer.OrdinalIgnoreCase).ToArray();
            var pushed = done.Length == 0 ? "no registry has the image" : $"{string.Join(", ", done)} {(done.Length == 1 ? "has" : "have")} the image";
            throw new ContainerException(failures[0].Error.Code, $"The push to {string.Join(" and ", failures.Select(f => f.Registry))} failed ({pushed}; the failed {(failures.Count == 1 ? "one keeps its" : "ones keep their")} tags as they were): {string.Join(" ", failures.Select(f => f.Error.Message))}", failures[0].Error);
        }

        return new TargetResult { Pushes = pushes };
    }

    private async Task<PushResult> PushAsync(RegistryPusher pusher, ImageArtifact artifact, RepositoryLocation location, IReadOnlyList<ImageReference> names, CancellationToken cancellationToken)
    {
        // A name with a digest and no tag pushes the manifest by its digest alone.
        var tags = names.Select(n => n.Tag ?? n.Digest?.ToString()).OfType<string>().Distinct(StringComparer.Ordinal).ToArray();

        // With documents attached, the image goes by its digest first and the tags move last, after the documents:
        // a failure in between leaves every tag as it was.
        var attached = artifact.Referrers.Count > 0;
        var first = attached ? [artifact.Digest.ToString()] : tags;
        var push = artifact.Index is { } index
            ? await pusher.PushIndexAsync(artifact.Images, index.Bytes, index.MediaType, location, first, cancellationToken).ConfigureAwait(false)
            : await pusher.PushAsync(artifact.Images[0], location, first, cancellationToken).ConfigureAwait(false);
        if (attached)
        {
            await pusher.PushReferrersAsync(artifact.Referrers, location, cancellationToken).ConfigureAwait(false);
            var (bytes, mediaType) = artifact.Index is { } i ? (i.Bytes, i.MediaType) : (artifact.Images[0].ManifestBytes, artifact.Images[0].ManifestMediaType);
            await pusher.TagAsync(bytes, mediaType, location, tags, cancellationToken).ConfigureAwait(false);
            push = push with { Tags = tags };
        }

        var what = artifact.Index is null ? string.Empty : $"the index of {artifact.Platforms} to ";
        log.Info($"Pushed {what}{location.Registry}/{location.Repository} ({string.Join(", ", tags)}): {push.BlobsUploaded} blobs uploaded ({push.BytesUploaded:N0} bytes), {push.BlobsMounted} mounted, {push.BlobsExisting} already there; digest {artifact.Digest}");
        return push;
    }
}
