using System.Net;
using System.Net.Http.Headers;

namespace Sdk.Containers.Registry;

/// <summary>
/// A request body that opens its stream afresh each time it is sent, so the retry and auth handlers can send a request
/// again without anyone holding the body in memory: a blob chunk streams straight from its file every time.
/// </summary>
internal sealed class ReplayableContent : HttpContent
{
    private readonly Func<Stream> _open;
    private readonly long _length;

    public ReplayableContent(Func<Stream> open, long length, string mediaType = "application/octet-stream")
    {
        _open = open;
        _length = length;
        Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        Headers.ContentLength = length;
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        => SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        await using var source = new BoundedStream(_open(), _length);
        await source.CopyToAsync(stream, 1 << 16, cancellationToken).ConfigureAwait(false);
    }

    protected override bool TryComputeLength(out long length)
    {
        length = _length;
        return true;
    }
}
