using Sdk.Containers.Archives;
using Sdk.Containers.Daemons;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Sources;

/// <summary>The files of an engine's image, and the key they are remembered by once verified.</summary>
internal sealed record EngineArchive(ArchiveContents Contents, string Key, bool Exported);

/// <summary>
/// A docker-daemon: or podman: base as the files of its `docker save` archive. The engine is asked for the image's ID
/// first (cheap); an ID exported by an earlier build is taken from the build cache, with nothing exported again, since
/// an ID is a digest (of the config, or of the manifest in containerd's store) and so names one content. Otherwise the
/// export is streamed into the blob store as it comes.
/// </summary>
internal sealed class EngineArchives(BlobStore store, BuildCache cache, bool reverify, IBuildLog log)
{
    public async Task<EngineArchive> ReadAsync(ImageSource source, CancellationToken cancellationToken)
    {
        var engine = source.Transport == ImageTransport.Podman ? LocalDaemon.Podman : LocalDaemon.Docker;
        var id = await engine.ImageIdAsync(source.Location, source.ToString(), cancellationToken).ConfigureAwait(false);
        var key = BuildCache.Key(CacheKinds.EngineImages, [id.Digest.ToString()]);
        var name = $"{source} ({id})";
        if (!reverify && cache.TryGet(CacheKinds.EngineImages, key, out var record) && ArchiveContents.FromRecord(name, store, record) is { } cached)
        {
            log.Info($"Base image {source} is the {engine.Command} image {id}, exported by an earlier build: taken from the build cache, not exported again");
            return new EngineArchive(cached, key, Exported: false);
        }

        log.Info($"Exporting base image {source} ({id}) from {engine.Command}");
        var contents = await engine.SaveAsync(id, source.ToString(), stream => ArchiveContents.ReadAsync(stream, name, store, cancellationToken), cancellationToken).ConfigureAwait(false);
        return new EngineArchive(contents, key, Exported: true);
    }

    /// <summary>Called once the image was verified, so an export that failed verification is exported again next time.</summary>
    public Task RememberAsync(EngineArchive archive, CancellationToken cancellationToken)
        => archive.Exported ? cache.SetAsync(CacheKinds.EngineImages, archive.Key, archive.Contents.ToRecord(), cancellationToken) : Task.CompletedTask;
}
