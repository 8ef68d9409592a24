using Sdk.Containers.Digests;
using Sdk.Containers.Images;
using Sdk.Containers.References;

namespace Sdk.Containers.Registry;

public enum BlobPushOutcome
{
    Existed,
    Mounted,
    Uploaded,
}

public sealed record PushResult(RepositoryLocation Destination, IReadOnlyList<string> Tags, Digest ManifestDigest, long BytesUploaded, int BlobsUploaded, int BlobsMounted, int BlobsExisting);

/// <summary>
/// Pushes an image per the distribution spec: each blob is skipped when the registry has it (HEAD), mounted when it
/// came from another repository of the same registry, else uploaded (in one PUT, or PATCH chunks when larger than the
/// chunk limit); blobs go in parallel, the manifest last, once per tag. Until the manifest is written no tag changes,
/// so a failed push leaves what users can pull as it was.
/// </summary>
public sealed class RegistryPusher(RegistrySession session)
{
    public async Task<PushResult> PushAsync(Image image, RepositoryLocation destination, IReadOnlyList<string> tags, CancellationToken cancellationToken)
    {
        var mountSources = image.Layers
            .Select(l => l.Origin)
            .OfType<RepositoryLocation>()
            .Where(o => string.Equals(o.Registry, destination.Registry, StringComparison.OrdinalIgnoreCase) && o.Repository != destination.Repository)
            .Select(o => o.Repository)
            .Distinct()
            .ToArray();
        var repository = session.For(destination.Registry).ForPush(destination.Repository, mountSources);

        long bytes = 0;
        int uploaded = 0, mounted = 0, existing = 0;
        void Count(BlobPushOutcome outcome, long size)
        {
            switch (outcome)
            {
                case BlobPushOutcome.Uploaded:
                    Interlocked.Increment(ref uploaded);
                    Interlocked.Add(ref bytes, size);
                    break;
                case BlobPushOutcome.Mounted:
                    Interlocked.Increment(ref mounted);
                    break;
                default:
                    Interlocked.Increment(ref existing);
                    break;
            }
        }

        var layers = image.Layers.DistinctBy(l => l.Descriptor.Digest).ToArray();
        await Parallel.ForEachAsync(layers, new ParallelOptions { MaxDegreeOfParallelism = session.Options.ParallelBlobs, CancellationToken = cancellationToken }, async (layer, token) =>
        {
            var origin = layer.Origin is { } o && string.Equals(o.Registry, destination.Registry, StringComparison.OrdinalIgnoreCase) && o.Repository != destination.Repository ? o.Repository : null;
            var outcome = await PushBlobAsync(repository, layer.Descriptor.Digest, layer.Descriptor.Size, layer.OpenBlobAt, origin, token).ConfigureAwait(false);
            Count(outcome, layer.Descriptor.Size);
            session.Log.Info($"Layer {layer.Descriptor.Digest.Hex[..12]} ({layer.Descriptor.Size:N0} bytes): {Describe(outcome, origin)}");
        }).ConfigureAwait(false);

        // An image copied unchanged (every layer from one repository of this registry) has its config there too.
        var origins = image.Layers.Select(l => l.Origin).Distinct().ToArray();
        var configOrigin = origins is [{ } only] && mountSources.Contains(only.Repository) ? only.Repository : null;
        var configOutcome = await PushBlobAsync(repository, image.ConfigDigest, image.ConfigBytes.Length, offset => new MemoryStream(image.ConfigBytes, (int)offset, image.ConfigBytes.Length - (int)offset, writable: false), configOrigin, cancellationToken).ConfigureAwait(false);
        Count(configOutcome, image.ConfigBytes.Length);

        foreach (var tag in tags)
        {
            var stored = (await repository.Manifests.PutAsync(tag, image.ManifestBytes, image.ManifestMediaType, cancellationToken).ConfigureAwait(false)).Stored;
            if (stored is { } digest && digest != image.ManifestDigest)
            {
                throw new ContainerException(ErrorCodes.DigestMismatch, $"{destination.Registry} stored the manifest {destination.Name(tag)} as {digest}, not {image.ManifestDigest}.");
            }

            session.Log.Info($"Pushed {Name(destination, tag)} ({image.ManifestDigest})");
        }

        return new PushResult(destination, tags, image.ManifestDigest, bytes, uploaded, mounted, existing);
    }

    /// <summary>
    /// Pushes an artifact that is not an image (a build cache): its blobs, its config and its manifest under a tag,
    /// in that order, so the tag moves only once everything it names is there.
    /// </summary>
    public async Task<PushResult> PushArtifactAsync(IReadOnlyList<Layers.Layer> blobs, byte[] config, byte[] manifest, string manifestMediaType, RepositoryLocation destination, string tag, CancellationToken cancellationToken)
    {
        var repository = session.For(destination.Registry).ForPush(destination.Repository);
        long bytes = 0;
        int uploaded = 0, existing = 0;
        var all = blobs.DistinctBy(b => b.Descriptor.Digest).Select(b => (b.Descriptor.Digest, b.Descriptor.Size, Open: (Func<long, Stream>)b.OpenBlobAt))
            .Append((Digest.Compute(config), config.Length, offset => new MemoryStream(config, (int)offset, config.Length - (int)offset, writable: false)))
            .ToArray();
        await Parallel.ForEachAsync(all, new ParallelOptions { MaxDegreeOfParallelism = session.Options.ParallelBlobs, CancellationToken = cancellationToken }, async (blob, token) =>
        {
            if (await PushBlobAsync(repository, blob.Digest, blob.Size, blob.Open, null, token).ConfigureAwait(false) == BlobPushOutcome.Uploaded)
            {
                Interlocked.Increment(ref uploaded);
                Interlocked.Add(ref bytes, blob.Size);
            }
            else
            {
                Interlocked.Increment(ref existing);
            }
        }).ConfigureAwait(false);

        await repository.Manifests.PutAsync(tag, manifest, manifestMediaType, cancellationToken).ConfigureAwait(false);
        return new PushResult(destination, [tag], Digest.Compute(manifest), bytes, uploaded, 0, existing);
    }

    /// <summary>
    /// Attaches documents to images pushed already (by digest, before any tag moves): their blobs, then each artifact
    /// manifest by its digest. A registry with the referrers API says so in its answer (OCI-Subject); for one without
    /// it (distribution 2.8, most self-hosted ones) the subject's sha256-&lt;hex&gt; tag lists them, as the
    /// distribution spec's referrers tag schema says.
    /// </summary>
    /// <returns>How many subjects' referrers tags were written.</returns>
    public async Task<int> PushReferrersAsync(IReadOnlyList<Supply.Referrer> referrers, RepositoryLocation destination, CancellationToken cancellationToken)
    {
        var repository = session.For(destination.Registry).ForPush(destination.Repository);
        var blobs = referrers.Select(r => (r.DocumentDescriptor.Digest, Bytes: r.Document))
            .Append((Supply.Referrer.EmptyConfigDescriptor.Digest, Bytes: Supply.Referrer.EmptyConfig.ToArray()))
            .DistinctBy(b => b.Digest);

        // Small requests that do not depend on each other go together: one round trip's wait for the blobs and one
        // for the manifests. The referrers tag is read only where a manifest's answer shows it is needed (no referrers
        // API), as a registry may count every manifest read as a pull.
        await Task.WhenAll(blobs.Select(b => PushBlobAsync(repository, b.Digest, b.Bytes.Length, offset => new MemoryStream(b.Bytes, (int)offset, b.Bytes.Length - (int)offset, writable: false), null, cancellationToken))).ConfigureAwait(false);
        var puts = await Task.WhenAll(referrers.Select(r => repository.Manifests.PutAsync(r.ManifestDigest.ToString(), r.ManifestBytes, MediaTypes.OciManifest, cancellationToken))).ConfigureAwait(false);

        var unindexed = new List<Supply.Referrer>();
        for (var i = 0; i < referrers.Count; i++)
        {
            if (puts[i].IndexedSubject != referrers[i].Subject.Digest)
            {
                unindexed.Add(referrers[i]);
            }

            session.Log.Info($"Attached {referrers[i].ArtifactType} to {destination.Name(referrers[i].Subject.Digest.ToString())} as {referrers[i].ManifestDigest}");
        }

        var tags = 0;
        foreach (var subject in unindexed.GroupBy(r => r.Subject.Digest))
        {
            if (await UpdateReferrersTagAsync(repository, destination, subject.Key, subject.ToArray(), cancellationToken).ConfigureAwait(false))
            {
                tags++;
            }
        }

        return tags;
    }

    /// <summary>Adds the referrers to the subject's sha256-&lt;hex&gt; index, keeping what others put there.</summary>
    private async Task<bool> UpdateReferrersTagAsync(RepositoryClient repository, RepositoryLocation destination, Digest subject, IReadOnlyList<Supply.Referrer> referrers, CancellationToken cancellationToken)
    {
        var tag = Supply.Referrer.FallbackTag(subject);
        var existing = await repository.Manifests.GetAsync(tag, cancellationToken).ConfigureAwait(false);
        IReadOnlyList<Descriptor> listed = [];
        if (existing is not null)
        {
            var what = $"The referrers tag {destination.Name(tag)}";
            var index = MediaTypes.IsIndex(existing.MediaType) ? ImageJson.ParseIndex(existing.Bytes, what) : null;
            if (index is null || index.MediaType is not (null or MediaTypes.OciIndex))
            {
                throw new ContainerException(ErrorCodes.RegistryError, $"{what} holds a {existing.MediaType ?? "document of no media type"}, not the OCI index of {subject}'s referrers, so the SBOM and provenance were not attached and no tag of the image moved. Delete that tag, or turn ContainerSbom and ContainerProvenance off.");
            }

            listed = index.Manifests;
        }

        var added = referrers.Where(r => listed.All(d => d.Digest != r.ManifestDigest)).Select(r => r.Descriptor).ToArray();
        if (added.Length == 0)
        {
            return false;
        }

        var bytes = ImageJson.Serialize(new ImageIndex { MediaType = MediaTypes.OciIndex, Manifests = [.. listed, .. added] });
        await repository.Manifests.PutAsync(tag, bytes, MediaTypes.OciIndex, cancellationToken).ConfigureAwait(false);
        session.Log.Info($"Listed {added.Length} referrers of {subject} under {destination.Name(tag)} (the registry has no referrers API)");
        return true;
    }

    /// <summary>Points tags at a manifest or index pushed already by its digest.</summary>
    public async Task TagAsync(byte[] manifest, string mediaType, RepositoryLocation destination, IReadOnlyList<string> tags, CancellationToken cancellationToken)
    {
        var repository = session.For(destination.Registry).ForPush(destination.Repository);
        var digest = Digest.Compute(manifest);
        foreach (var tag in tags)
        {
            var stored = (await repository.Manifests.PutAsync(tag, manifest, mediaType, cancellationToken).ConfigureAwait(false)).Stored;
            if (stored is { } other && other != digest)
            {
                throw new ContainerException(ErrorCodes.DigestMismatch, $"{destination.Registry} stored the manifest {destination.Name(tag)} as {other}, not {digest}.");
            }

            session.Log.Info($"Pushed {Name(destination, tag)} ({digest})");
        }
    }

    /// <summary>repo:tag, or repo@sha256:… when the image is pushed by its digest.</summary>
    private static string Name(RepositoryLocation destination, string tagOrDigest)
        => destination.Name(tagOrDigest);

    /// <summary>Pushes every platform's image by digest, then the index under each tag.</summary>
    public async Task<PushResult> PushIndexAsync(IReadOnlyList<Image> images, byte[] indexBytes, string indexMediaType, RepositoryLocation destination, IReadOnlyList<string> tags, CancellationToken cancellationToken)
    {
        long bytes = 0;
        int uploaded = 0, mounted = 0, existing = 0;
        foreach (var image in images)
        {
            var result = await PushAsync(image, destination, [image.ManifestDigest.ToString()], cancellationToken).ConfigureAwait(false);
            bytes += result.BytesUploaded;
            uploaded += result.BlobsUploaded;
            mounted += result.BlobsMounted;
            existing += result.BlobsExisting;
        }

        var repository = session.For(destination.Registry).ForPush(destination.Repository);
        var digest = Digest.Compute(indexBytes);
        foreach (var tag in tags)
        {
            await repository.Manifests.PutAsync(tag, indexBytes, indexMediaType, cancellationToken).ConfigureAwait(false);
            session.Log.Info($"Pushed {Name(destination, tag)} ({digest}, an index of {images.Count} platforms)");
        }

        return new PushResult(destination, tags, digest, bytes, uploaded, mounted, existing);
    }

    private static string Describe(BlobPushOutcome outcome, string? origin) => outcome switch
    {
        BlobPushOutcome.Existed => "already in the registry",
        BlobPushOutcome.Mounted => $"mounted from {origin}",
        _ => "pushed",
    };

    private async Task<BlobPushOutcome> PushBlobAsync(RepositoryClient repository, Digest digest, long size, Func<long, Stream> open, string? mountFrom, CancellationToken cancellationToken)
    {
        if (await repository.Blobs.ExistsAsync(digest, cancellationToken).ConfigureAwait(false))
        {
            return BlobPushOutcome.Existed;
        }

        // An upload session that broke half-way cannot be trusted: the blob starts again in a new session.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var upload = mountFrom is null
                    ? await repository.Blobs.StartUploadAsync(digest, cancellationToken).ConfigureAwait(false)
                    : await repository.Blobs.MountAsync(digest, mountFrom, cancellationToken).ConfigureAwait(false);
                if (upload is null)
                {
                    return BlobPushOutcome.Mounted;
                }

                await upload.WriteAsync(size, open, cancellationToken, sent => session.Log.Detail($"Blob {digest.Hex[..12]}: {sent:N0} of {size:N0} bytes uploaded")).ConfigureAwait(false);
                return BlobPushOutcome.Uploaded;
            }
            catch (ContainerException ex) when (attempt < session.Options.UploadAttempts && ex.Code is ErrorCodes.RegistryError or ErrorCodes.RegistryUnreachable)
            {
                session.Log.Detail($"Blob {digest}: {ex.Message} Starting its upload again.");
                mountFrom = null;
            }
        }
    }
}
