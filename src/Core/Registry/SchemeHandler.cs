namespace Sdk.Containers.Registry;

/// <summary>
/// Requests to the registry are addressed over HTTPS; this handler finds out once, by a ping of /v2/, whether the
/// registry speaks it, and sends them over plain HTTP to a loopback or insecure registry that does not. Concurrent
/// first requests wait for the one ping; a ping that failed is tried again by the next request.
/// </summary>
internal sealed class SchemeHandler : DelegatingHandler
{
    private readonly string _registry;
    private readonly Uri _https;
    private readonly RegistryOptions _options;
    private readonly IBuildLog _log;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile string? _scheme;

    /// <param name="https">The registry's API root over HTTPS, as requests to it are addressed.</param>
    public SchemeHandler(string registry, Uri https, RegistryOptions options, IBuildLog log)
    {
        _registry = registry;
        _https = https;
        _options = options;
        _log = log;
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.RequestUri is { } uri && uri.Scheme == Uri.UriSchemeHttps && string.Equals(uri.Authority, _https.Authority, StringComparison.OrdinalIgnoreCase))
        {
            var scheme = _scheme ?? await DecideAsync(cancellationToken).ConfigureAwait(false);
            if (scheme != uri.Scheme)
            {
                request.RequestUri = new UriBuilder(uri) { Scheme = scheme, Port = uri.IsDefaultPort ? -1 : uri.Port }.Uri;
            }
        }

        return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
    }

    private async Task<string> DecideAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_scheme is { } decided)
            {
                return decided;
            }

            try
            {
                await PingAsync(_https, cancellationToken).ConfigureAwait(false);
                return _scheme = Uri.UriSchemeHttps;
            }
            catch (HttpRequestException ex) when (_options.AllowsHttp(_registry))
            {
                _log.Detail($"{_registry}: HTTPS failed ({ex.Message}); using HTTP, as for any loopback or insecure registry");
                var http = new UriBuilder(_https) { Scheme = Uri.UriSchemeHttp, Port = _https.IsDefaultPort ? -1 : _https.Port }.Uri;
                try
                {
                    await PingAsync(http, cancellationToken).ConfigureAwait(false);
                }
                catch (HttpRequestException inner)
                {
                    throw RegistryErrors.UnreachableOverEither(_registry, inner);
                }

                return _scheme = Uri.UriSchemeHttp;
            }
            catch (HttpRequestException ex)
            {
                throw RegistryErrors.UnreachableOverHttps(_registry, ex);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Any answer will do: a 401 on the way back tells the auth handler how the registry wants to be asked.</summary>
    private async Task PingAsync(Uri root, CancellationToken cancellationToken)
    {
        using var request = RegistryHttp.NewRequest(HttpMethod.Get, new Uri(root, "v2/"));
        using var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _gate.Dispose();
        }

        base.Dispose(disposing);
    }
}
