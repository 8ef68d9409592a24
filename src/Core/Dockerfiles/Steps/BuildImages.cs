using System.Collections.Concurrent;
using Sdk.Containers.Images;
using Sdk.Containers.Sources;

namespace Sdk.Containers.Dockerfiles;

/// <summary>The images a build names (FROM, COPY --from, RUN --mount from=): each loaded, and unpacked for reading,
/// at most once per build however many steps ask for it.</summary>
internal sealed class BuildImages(BuildInputs inputs, BuildServices services, ImageLoader loader)
{
    private readonly ConcurrentDictionary<string, Lazy<Task<(Image Image, string Key)>>> _images = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<SourceTree>>> _trees = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ResolvedImage> _resolved = new(StringComparer.Ordinal);

    /// <summary>Every image the build read, by the name it gave and the digest it found (for the provenance).</summary>
    public IReadOnlyList<ResolvedImage> Resolved => _resolved.Values.OrderBy(r => r.Name, StringComparer.Ordinal).ThenBy(r => r.Source, StringComparer.Ordinal).ToArray();

    /// <summary>An image by a named context or a reference (registry, or oci:/docker-archive: paths), and its cache key.</summary>
    public Task<(Image Image, string Key)> ImageAsync(string name, Platform platform, CancellationToken cancellationToken)
        => _images.GetOrAdd($"{name}|{platform}", _ => new Lazy<Task<(Image, string)>>(() => LoadAsync(name, platform, cancellationToken))).Value;

    /// <summary>The files of an image, for COPY --from=image.</summary>
    public Task<SourceTree> TreeAsync(string name, Platform platform, CancellationToken cancellationToken)
        => _trees.GetOrAdd($"{name}|{platform}", _ => new Lazy<Task<SourceTree>>(() => UnpackAsync(name, platform, cancellationToken))).Value;

    private async Task<(Image Image, string Key)> LoadAsync(string name, Platform platform, CancellationToken cancellationToken)
    {
        var source = inputs.NamedImage(name) ?? ImageSource.Parse(name);
        if (source.IsLocalEngine)
        {
            // A Dockerfile names images as BuildKit does; an engine's image is a base for a publish (ContainerBaseImage)
            // and a source for the CLI's push, copy and inspect.
            throw new ContainerException(ErrorCodes.InvalidImageSource, $"The Dockerfile names the image '{name}', but a Dockerfile's images come from a registry, an oci: layout or a docker-archive:, not from a local engine. Save it (`docker save -o base.tar NAME:TAG`) and name docker-archive:base.tar, or push it to a registry.");
        }

        var loaded = await loader.LoadAsync(source, platform, cancellationToken).ConfigureAwait(false);
        services.Log.Detail($"[{name}] {source}: {loaded.Image.Layers.Count} layers, {loaded.Image.ManifestDigest}");
        _resolved[$"{name}|{platform}"] = new ResolvedImage(name, source.ToString(), loaded.Image.ManifestDigest, loaded.Image.Config.RootFs.DiffIds);
        return (loaded.Image, loaded.Image.ManifestDigest.ToString());
    }

    private async Task<SourceTree> UnpackAsync(string name, Platform platform, CancellationToken cancellationToken)
    {
        var (image, _) = await ImageAsync(name, platform, cancellationToken).ConfigureAwait(false);
        var root = await services.NewStageRoot(name).ViewAsync(image.Layers, cancellationToken).ConfigureAwait(false);
        return new SourceTree(root, DockerIgnore.Empty, $"the image {name}", isContext: false);
    }
}

/// <summary>An image a build named, where it came from, and its manifest digest.</summary>
public sealed record ResolvedImage(string Name, string Source, Digests.Digest Digest, IReadOnlyList<Digests.Digest> DiffIds)
{
    /// <summary>
    /// The base of an image with these diff_ids: the image read whose layers it starts with (the most of them, when
    /// FROM images build on each other); the others were read only to copy from.
    /// </summary>
    public static ResolvedImage? BaseOf(IReadOnlyList<ResolvedImage> images, IReadOnlyList<Digests.Digest> diffIds)
        => images
            .Where(i => i.DiffIds.Count > 0 && i.DiffIds.Count <= diffIds.Count && i.DiffIds.SequenceEqual(diffIds.Take(i.DiffIds.Count)))
            .MaxBy(i => i.DiffIds.Count);
}
