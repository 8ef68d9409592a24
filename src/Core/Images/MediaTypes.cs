namespace Sdk.Containers.Images;

public static class MediaTypes
{
    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
    public const string DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
    public const string DockerConfig = "application/vnd.docker.container.image.v1+json";
    public const string DockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    public const string DockerLayerTar = "application/vnd.docker.image.rootfs.diff.tar";

    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";
    public const string OciConfig = "application/vnd.oci.image.config.v1+json";
    public const string OciLayerTar = "application/vnd.oci.image.layer.v1.tar";
    public const string OciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
    public const string OciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";

    public static bool IsManifest(string? mediaType) => mediaType is DockerManifest or OciManifest;

    public static bool IsIndex(string? mediaType) => mediaType is DockerManifestList or OciIndex;

    public static bool IsLayer(string? mediaType)
        => mediaType is DockerLayerGzip or DockerLayerTar or OciLayerTar or OciLayerGzip or OciLayerZstd
            or "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
            or "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

    public static LayerCompression CompressionOf(string mediaType) => mediaType switch
    {
        DockerLayerTar or OciLayerTar => LayerCompression.None,
        OciLayerZstd => LayerCompression.Zstd,
        _ => LayerCompression.Gzip,
    };

    /// <summary>The media type a layer of the given compression has in a manifest of the given format.</summary>
    public static string LayerMediaType(ImageFormat format, LayerCompression compression) => (format, compression) switch
    {
        (ImageFormat.Docker, LayerCompression.None) => DockerLayerTar,
        (ImageFormat.Docker, LayerCompression.Zstd) => throw new ContainerException(ErrorCodes.ZstdNeedsOci, "zstd layers exist only in OCI images: set ContainerImageFormat to OCI, or compress with gzip."),
        (ImageFormat.Docker, _) => DockerLayerGzip,
        (ImageFormat.Oci, LayerCompression.None) => OciLayerTar,
        (ImageFormat.Oci, LayerCompression.Zstd) => OciLayerZstd,
        _ => OciLayerGzip,
    };

    public static string ManifestMediaType(ImageFormat format) => format == ImageFormat.Docker ? DockerManifest : OciManifest;

    public static string ConfigMediaType(ImageFormat format) => format == ImageFormat.Docker ? DockerConfig : OciConfig;

    public static ImageFormat FormatOfManifest(string? manifestMediaType)
        => manifestMediaType == DockerManifest ? ImageFormat.Docker : ImageFormat.Oci;
}

public enum ImageFormat
{
    Docker,
    Oci,
}

public enum LayerCompression
{
    None,
    Gzip,
    Zstd,
}
