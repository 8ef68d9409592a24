using Sdk.Containers.Archives;
using Sdk.Containers.Daemons;
using Sdk.Containers.Digests;
using Sdk.Containers.Images;
using Sdk.Containers.References;
using Sdk.Containers.Registry;
using Sdk.Containers.Sources;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Publishing;

public sealed record ContainerIndexRequest
{
    /// <summary>OCI layouts, one per platform, each holding that platform's image (written by the per-RID builds).</summary>
    public required IReadOnlyList<string> PlatformLayouts { get; init; }

    public required string Repository { get; init; }

    public IReadOnlyList<string> Tags { get; init; } = ["latest"];

    public string? Registry { get; init; }

    /// <summary>An oci-archive holding the index and every platform's image.</summary>
    public string? ArchiveOutputPath { get; init; }

    public string? LocalRegistry { get; init; }

    public IReadOnlyList<string> InsecureRegistries { get; init; } = [];

    public long? RegistryChunkSize { get; init; }

    public DateTimeOffset LayerTimestamp { get; init; } = Layers.LayerWriterOptions.DefaultTimestamp;

    public string? CacheDirectory { get; init; }
}

public sealed record ContainerIndexResult(IReadOnlyList<Image> Images, byte[] IndexBytes, Digest IndexDigest, string IndexMediaType, string? ArchivePath);

/// <summary>
/// Puts the images of several platforms under one name: an OCI index (or a Docker manifest list for Docker-format
/// images) pushed to a registry by tag after every image it lists, or written as an oci-archive; a local engine gets
/// the image of its own platform, since classic engines cannot load an index.
/// </summary>
public sealed class ContainerIndexPublisher(IBuildLog log)
{
    public async Task<ContainerIndexResult> PublishAsync(ContainerIndexRequest request, CancellationToken cancellationToken)
    {
        ImageReference.ValidateRepository(request.Repository, "ContainerRepository");
        foreach (var tag in request.Tags)
        {
            ImageReference.ValidateTag(tag, "ContainerImageTags");
        }

        var store = BlobStore.CreateDefault(request.CacheDirectory);
        var loader = new ImageLoader(store);
        var images = new List<Image>();
        foreach (var layout in request.PlatformLayouts)
        {
            var loaded = await loader.LoadAllAsync(new ImageSource(ImageTransport.OciLayout, layout, null), cancellationToken).ConfigureAwait(false);
            images.AddRange(loaded.Select(l => l.Image));
        }

        var duplicates = images.GroupBy(i => i.Config.Platform.ToString()).Where(g => g.Count() > 1).Select(g => g.Key).ToArray();
        if (duplicates.Length > 0)
        {
            throw new ContainerException(ErrorCodes.InvalidOutput, $"ContainerRuntimeIdentifiers gives more than one image for {string.Join(", ", duplicates)}; list each platform once.");
        }

        var docker = images.All(i => i.Format == ImageFormat.Docker);
        var index = new ImageIndex
        {
            MediaType = docker ? MediaTypes.DockerManifestList : MediaTypes.OciIndex,
            Manifests = images.Select(i => i.ManifestDescriptor(withPlatform: true)).ToArray(),
        };
        var indexBytes = ImageJson.Serialize(index);
        var indexDigest = Digest.Compute(indexBytes);
        log.Info($"Index {indexDigest} for {string.Join(", ", images.Select(i => i.Config.Platform))}");

        string? archivePath = null;
        if (!string.IsNullOrWhiteSpace(request.ArchiveOutputPath))
        {
            archivePath = ContainerPublisher.ResolveArchivePath(request.ArchiveOutputPath, request.Repository);
            await OciArchiveWriter.WriteIndexAsync(images, indexBytes, index.MediaType!, $"{request.Repository}:{request.Tags[0]}", archivePath, request.LayerTimestamp, cancellationToken).ConfigureAwait(false);
            log.Info($"Wrote the index of {request.Repository} to the oci-archive {archivePath}");
        }

        if (!string.IsNullOrWhiteSpace(request.Registry))
        {
            var registry = ContainerPublisher.NormalizeRegistry(request.Registry);
            using var session = new RegistrySession(new RegistryOptions
            {
                InsecureRegistries = request.InsecureRegistries,
                MaxChunkSize = request.RegistryChunkSize ?? new RegistryOptions().MaxChunkSize,
            }, log);
            await new RegistryPusher(session).PushIndexAsync(images, indexBytes, index.MediaType!, new RepositoryLocation(registry, request.Repository), request.Tags, cancellationToken).ConfigureAwait(false);
        }
        else if (archivePath is null)
        {
            var daemon = await LocalDaemon.DetectAsync(request.LocalRegistry, log, cancellationToken).ConfigureAwait(false)
                ?? throw new ContainerException(ErrorCodes.EngineMissing, "A multi-platform image needs ContainerRegistry or ContainerArchiveOutputPath, or a Docker or Podman engine to load the image of its own platform into; none answered.");
            var own = Platform.FromRuntimeIdentifier(System.Runtime.InteropServices.RuntimeInformation.RuntimeIdentifier.Replace("linux-musl", "linux", StringComparison.Ordinal));
            var image = images.FirstOrDefault(i => own.Accepts(i.Config.Platform))
                ?? throw new ContainerException(ErrorCodes.PlatformNotFound, $"None of the platforms ({string.Join(", ", images.Select(i => i.Config.Platform))}) is this machine's ({own}), so there is nothing to load into {daemon.Command}.");
            await daemon.LoadAsync(image, request.Tags.Select(t => $"{request.Repository}:{t}").ToArray(), request.LayerTimestamp, cancellationToken).ConfigureAwait(false);
            log.Info($"Loaded the {image.Config.Platform} image of {request.Repository} into {daemon.Command}");
        }

        return new ContainerIndexResult(images, indexBytes, indexDigest, index.MediaType!, archivePath);
    }
}
