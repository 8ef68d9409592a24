namespace Sdk.Containers.Images;

/// <summary>The pre-defined OCI annotation keys we write.</summary>
public static class ImageAnnotations
{
    public const string BaseName = "org.opencontainers.image.base.name";
    public const string BaseDigest = "org.opencontainers.image.base.digest";
    public const string Created = "org.opencontainers.image.created";
}
