namespace Sdk.Containers.Registry;

/// <summary>
/// One registry, per the OCI distribution spec, over a chain of handlers with one job each: the scheme (HTTPS, or
/// HTTP for loopback and insecure registries), authentication (Basic, or Bearer tokens per scope, cached and shared),
/// then retries. Repositories are reached through <see cref="ForPull"/> and <see cref="ForPush"/>; nothing above this
/// type builds a URL or reads a status code.
/// </summary>
public sealed class RegistryApi : IDisposable
{
    private readonly HttpClient _http;
    private readonly Uri _root;

    public RegistryApi(string registry, RegistryOptions? options = null, CredentialResolver? credentials = null, IBuildLog? log = null, HttpMessageHandler? handler = null)
    {
        Registry = registry;
        Options = options ?? new RegistryOptions();
        log ??= NullBuildLog.Instance;

        // Docker Hub's images are named docker.io/... but its API is served from registry-1.docker.io.
        _root = new Uri($"https://{(registry == References.ImageReference.DockerHub ? "registry-1.docker.io" : registry)}/");
        var transport = handler ?? new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) };
        var chain = new SchemeHandler(registry, _root, Options, log)
        {
            InnerHandler = new AuthHandler(registry, Options, credentials ?? new CredentialResolver(), log)
            {
                InnerHandler = new RetryHandler(registry, Options, log) { InnerHandler = transport },
            },
        };

        // The timeout is the retry handler's, per attempt: HttpClient's would count all attempts together.
        _http = new HttpClient(chain) { Timeout = Timeout.InfiniteTimeSpan };
    }

    public string Registry { get; }

    public RegistryOptions Options { get; }

    /// <summary>A repository to read from.</summary>
    public RepositoryClient ForPull(string repository) => new(this, repository, [PullScope(repository)]);

    /// <summary>A repository to write to, with read access to <paramref name="mountFrom"/> so blobs can be mounted from them.</summary>
    public RepositoryClient ForPush(string repository, IEnumerable<string>? mountFrom = null)
        => new(this, repository, [PushScope(repository), .. (mountFrom ?? []).Where(r => r != repository).Distinct().Select(PullScope)]);

    public static string PullScope(string repository) => $"repository:{repository}:pull";

    public static string PushScope(string repository) => $"repository:{repository}:pull,push";

    /// <summary>An address under the API root, as the handlers expect them (HTTPS; the scheme handler may send it over HTTP).</summary>
    internal Uri Address(string path) => new(_root, path);

    /// <summary>
    /// Sends a request with the scopes it needs. The response is returned whatever its status once retries are spent
    /// or the status is not transient; a failure to get any answer is the coded error here, the one place for it.
    /// </summary>
    internal async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, IReadOnlyList<string> scopes, CancellationToken cancellationToken)
    {
        request.Options.Set(RegistryHttp.Scopes, scopes);
        try
        {
            return await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw RegistryErrors.Unreachable(Registry, request.RequestUri?.Scheme, ex);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw RegistryErrors.TimedOut(Registry, Options, ex);
        }
        catch (IOException ex)
        {
            throw RegistryErrors.ConnectionBroke(Registry, ex);
        }
    }

    public void Dispose() => _http.Dispose();
}
