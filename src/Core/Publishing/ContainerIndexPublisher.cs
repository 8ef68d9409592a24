using Sdk.Containers.Archives;
using Sdk.Containers.Digests;
using Sdk.Containers.Targets;
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

    public DateTimeOffset LayerTimestamp { get; init; } = Layers.LayerWriterOptions.DefaultTimestamp;

    /// <summary>Annotations of the index (OCI indexes only).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Annotations { get; init; } = [];
}

public sealed record ContainerIndexResult(IReadOnlyList<Image> Images, byte[] IndexBytes, Digest IndexDigest, string IndexMediaType, string? ArchivePath);

/// <summary>
/// Puts the images of several platforms under one name: an OCI index (or a Docker manifest list for Docker-format
/// images) pushed to a registry by tag after every image it lists, or written as an oci-archive; a local engine gets
/// the image of its own platform, since classic engines cannot load an index.
/// </summary>
public sealed class ContainerIndexPublisher(ImageServices services)
{
    public async Task<ContainerIndexResult> PublishAsync(ContainerIndexRequest request, CancellationToken cancellationToken)
    {
        ImageReference.ValidateRepository(request.Repository, "ContainerRepository");
        foreach (var tag in request.Tags)
        {
            ImageReference.ValidateTag(tag, "ContainerImageTags");
        }

        var log = services.Log;
        var loader = new ImageLoader(services.Store);
        var images = new List<Image>();
        var referrers = new List<Supply.Referrer>();
        foreach (var layout in request.PlatformLayouts)
        {
            var loaded = await loader.LoadAllAsync(new ImageSource(ImageTransport.OciLayout, layout, null), cancellationToken).ConfigureAwait(false);
            images.AddRange(loaded.Select(l => l.Image));

            // Each platform's SBOM and provenance, written beside its image by its build, go along with it.
            foreach (var image in loaded)
            {
                referrers.AddRange(await Supply.LayoutReferrers.ReadAsync(layout, image.Image.ManifestDigest, cancellationToken).ConfigureAwait(false));
            }
        }

        var duplicates = images.GroupBy(i => i.Config.Platform.ToString()).Where(g => g.Count() > 1).Select(g => g.Key).ToArray();
        if (duplicates.Length > 0)
        {
            throw new ContainerException(ErrorCodes.InvalidOutput, $"ContainerRuntimeIdentifiers gives more than one image for {string.Join(", ", duplicates)}; list each platform once.");
        }

        var registries = PublishNames.Registries(request.Registry);
        var names = PublishNames.For(registries, request.Repository, request.Tags);
        var targets = await PublishTargets.ChooseAsync(new PublishDestinations
        {
            Registries = registries,
            ArchivePath = string.IsNullOrWhiteSpace(request.ArchiveOutputPath) ? null : ContainerPublisher.ResolveArchivePath(request.ArchiveOutputPath, request.Repository),
            LocalRegistry = request.LocalRegistry,
            Timestamp = request.LayerTimestamp,
            Index = true,
        }, services.Registries, services.Cache, log, cancellationToken).ConfigureAwait(false);
        var artifact = ImageArtifact.IndexOf(images, IndexAnnotations(request.Annotations, images)).WithReferrers(referrers);
        var results = await ImageDelivery.SendAsync(artifact, names, targets, log, cancellationToken).ConfigureAwait(false);
        var index = artifact.Index!;
        return new ContainerIndexResult(images, index.Bytes, index.Digest, index.MediaType, results.Select(r => r.ArchivePath).FirstOrDefault(p => p is not null));
    }

    private static Dictionary<string, string>? IndexAnnotations(IReadOnlyList<KeyValuePair<string, string>> annotations, IReadOnlyList<Image> images)
    {
        if (annotations.Count == 0)
        {
            return null;
        }

        if (images.All(i => i.Format == ImageFormat.Docker))
        {
            throw new ContainerException(ErrorCodes.AnnotationsNeedOci, $"ContainerAnnotation {string.Join(", ", annotations.Select(a => a.Key))} asks for index annotations, but the images are in Docker format, whose manifest lists have none. Set ContainerImageFormat to OCI.");
        }

        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in annotations)
        {
            if (string.IsNullOrWhiteSpace(key))
            {
                throw new ContainerException(ErrorCodes.InvalidAnnotation, "A ContainerAnnotation item has an empty name; give each a key such as org.opencontainers.image.source.");
            }

            map[key] = value;
        }

        return map;
    }
}
