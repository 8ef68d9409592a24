using Sdk.Containers.Digests;
using Sdk.Containers.Layers;

namespace Sdk.Containers.Images;

/// <summary>
/// An image: its config and manifest, both parsed and as the exact bytes their digests are over, and its layers
/// base first. Immutable; <see cref="Building.ImageBuilder"/> makes new images from old ones.
/// </summary>
public sealed class Image
{
    private Image(ImageConfig config, byte[] configBytes, ImageManifest manifest, byte[] manifestBytes, IReadOnlyList<Layer> layers)
    {
        Config = config;
        ConfigBytes = configBytes;
        Manifest = manifest;
        ManifestBytes = manifestBytes;
        Layers = layers;
        ManifestDigest = Digest.Compute(manifestBytes);
    }

    public ImageConfig Config { get; }

    public byte[] ConfigBytes { get; }

    /// <summary>The image ID, as Docker reports it.</summary>
    public Digest ConfigDigest => Manifest.Config.Digest;

    public ImageManifest Manifest { get; }

    public byte[] ManifestBytes { get; }

    public Digest ManifestDigest { get; }

    public string ManifestMediaType => Manifest.MediaType ?? MediaTypes.OciManifest;

    public ImageFormat Format => MediaTypes.FormatOfManifest(Manifest.MediaType);

    public IReadOnlyList<Layer> Layers { get; }

    public Descriptor ManifestDescriptor(IReadOnlyDictionary<string, string>? annotations = null, bool withPlatform = false) => new()
    {
        MediaType = ManifestMediaType,
        Digest = ManifestDigest,
        Size = ManifestBytes.Length,
        Annotations = annotations,
        Platform = withPlatform ? Config.Platform : null,
    };

    /// <summary>Serialises a new config and manifest for the given layers.</summary>
    public static Image Create(ImageFormat format, ImageConfig config, IReadOnlyList<Layer> layers, IReadOnlyDictionary<string, string>? annotations = null)
        => Create(format, config, ImageJson.Serialize(config), layers, annotations);

    /// <summary>A new manifest over a config whose bytes are kept as they are (a config read from an archive).</summary>
    public static Image Create(ImageFormat format, ImageConfig config, byte[] configBytes, IReadOnlyList<Layer> layers, IReadOnlyDictionary<string, string>? annotations = null)
    {
        if (config.RootFs.DiffIds.Count != layers.Count || !config.RootFs.DiffIds.SequenceEqual(layers.Select(l => l.DiffId)))
        {
            throw new InvalidOperationException("The config's diff_ids do not match the layers.");
        }

        var formatted = layers.Select(l => l.ForFormat(format)).ToArray();
        var manifest = new ImageManifest
        {
            MediaType = MediaTypes.ManifestMediaType(format),
            Config = new Descriptor { MediaType = MediaTypes.ConfigMediaType(format), Digest = Digest.Compute(configBytes), Size = configBytes.Length },
            Layers = formatted.Select(l => l.Descriptor).ToArray(),
            Annotations = format == ImageFormat.Oci ? annotations : null,
        };
        return new Image(config, configBytes, manifest, ImageJson.Serialize(manifest), formatted);
    }

    /// <summary>An image read from somewhere else: its bytes are kept as they were, never re-serialised.</summary>
    public static Image FromExisting(ImageConfig config, byte[] configBytes, ImageManifest manifest, byte[] manifestBytes, IReadOnlyList<Layer> layers)
        => new(config, configBytes, manifest, manifestBytes, layers);
}
