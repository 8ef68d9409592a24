namespace Sdk.Containers.Layers;

/// <summary>
/// Somewhere a compressed blob of a layer's content may already exist (a registry image, a cache): asked before the
/// content is compressed. It offers a blob only; the diff_id is always the one computed from our own content.
/// </summary>
public interface ILayerBlobSource
{
    /// <summary>Whether the source offers any blob at all: when none does, layers are not hashed ahead of compressing.</summary>
    Task<bool> AnyAsync(CancellationToken cancellationToken);

    /// <summary>
    /// A layer of <paramref name="content"/> whose blob has the very bytes <paramref name="compression"/> would write,
    /// or null: a source that cannot show a blob is those bytes offers nothing, so reuse never changes an image.
    /// </summary>
    Task<Layer?> FindAsync(LayerContent content, LayerCompressionSetting compression, CancellationToken cancellationToken);
}
