using Sdk.Containers.Digests;
using Sdk.Containers.Images;

namespace Sdk.Containers.Layers;

/// <summary>
/// A layer blob on disk (in the blob store or an OCI layout) and what identifies it: the blob digest (in manifests)
/// and the diff_id, the digest of the uncompressed tar (in configs).
/// </summary>
public sealed record Layer(string BlobPath, Descriptor Descriptor, Digest DiffId)
{
    /// <summary>The registry repository the blob was pulled from, if any: a push to the same registry mounts it from there.</summary>
    public References.RepositoryLocation? Origin { get; init; }

    /// <summary>How this build came by the layer (for the log, and for tests that count work).</summary>
    public LayerSource Source { get; init; }

    /// <summary>The image whose blob this build took instead of compressing the content (<see cref="LayerSource.Offered"/>).</summary>
    public References.ImageReference? OfferedBy { get; init; }

    // Set for a layer whose blob stays in a registry repository (its Origin): only a push to that registry can use it.
    private bool _remote;

    /// <summary>
    /// The one way a layer is made from a blob and its content's digest. It is described in OCI terms; the image it
    /// joins decides its media type (<see cref="Image.Create"/>), so no writer or cache has to know the image's format.
    /// </summary>
    public static Layer Create(string blobPath, Digest blobDigest, long blobSize, LayerCompression compression, Digest diffId)
        => new(blobPath, new Descriptor { MediaType = MediaTypes.LayerMediaType(ImageFormat.Oci, compression), Digest = blobDigest, Size = blobSize }, diffId);

    // Set only for layers held in memory (tests, small generated layers): every reader goes through OpenBlobAt.
    private ReadOnlyMemory<byte>? _bytes;

    /// <summary>
    /// A layer whose blob is held in memory rather than in a file, as ggcr's random and static layers are: for tests
    /// that need no disk, and for small layers made on the fly. <see cref="BlobPath"/> only names it.
    /// </summary>
    public static Layer InMemory(ReadOnlyMemory<byte> blob, LayerCompression compression, Digest diffId)
    {
        var digest = Digest.Compute(blob.Span);
        var layer = Create($"memory:{digest}", digest, blob.Length, compression, diffId);
        layer._bytes = blob;
        return layer;
    }

    /// <summary>
    /// A layer whose blob is only in a registry repository (<paramref name="origin"/>), not on this machine: for an
    /// image pushed to that registry, where the blob is already there or is mounted from the origin.
    /// </summary>
    public static Layer InRegistry(Descriptor blob, Digest diffId, References.RepositoryLocation origin)
        => new($"{origin.Registry}/{origin.Repository}@{blob.Digest}", blob, diffId) { Origin = origin, _remote = true };

    /// <summary>Whether the blob's bytes are on this machine (false: only in the registry of <see cref="Origin"/>).</summary>
    public bool IsLocal => !_remote;

    public Stream OpenBlob() => OpenBlobAt(0);

    /// <summary>The blob from <paramref name="offset"/> on (an upload resumed or retried part-way).</summary>
    public Stream OpenBlobAt(long offset)
    {
        if (_remote)
        {
            throw new ContainerException(ErrorCodes.RegistryError, $"The layer {Descriptor.Digest} was to be taken from {Origin!.Registry}/{Origin.Repository}, but it is no longer there; publish again and it will be compressed and uploaded.");
        }

        if (_bytes is { } bytes)
        {
            var rest = bytes[(int)offset..];
            return System.Runtime.InteropServices.MemoryMarshal.TryGetArray(rest, out var segment)
                ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
                : new MemoryStream(rest.ToArray(), writable: false);
        }

        var stream = new FileStream(BlobPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
        stream.Seek(offset, SeekOrigin.Begin);
        return stream;
    }

    /// <summary>The same bytes described for a manifest of another format: the media type changes, the digest does not.</summary>
    public Layer ForFormat(ImageFormat format)
        => this with { Descriptor = Descriptor with { MediaType = MediaTypes.LayerMediaType(format, MediaTypes.CompressionOf(Descriptor.MediaType)) } };
}

public enum LayerSource
{
    /// <summary>Part of an image that already existed: a base, a pulled or loaded image.</summary>
    Existing,

    /// <summary>Written by this build, and new to the blob store.</summary>
    Written,

    /// <summary>Written again by this build (its files may have changed), to bytes the blob store already had.</summary>
    WrittenAgainSameBytes,

    /// <summary>Taken from the build cache: the plan matched an earlier build's, so no file was read, nothing written.</summary>
    BuildCache,

    /// <summary>Its content (by diff_id) was compressed on this machine before, from another plan: hashed, not compressed.</summary>
    SameContentStored,

    /// <summary>A registry image had a blob of this content with the very bytes we would write: hashed, not compressed.</summary>
    Offered,
}
