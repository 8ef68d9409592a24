using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Authentication;
using System.Text;
using System.Text.Json;
using Polly;
using Polly.Retry;

namespace Sdk.Containers.Registry;

/// <summary>
/// HTTP to one registry, per the OCI distribution spec: the scheme (HTTPS, or HTTP for loopback and insecure
/// registries), authentication from WWW-Authenticate challenges (Basic, or Bearer tokens per repository scope, fetched
/// again when a 401 asks for more), and retries with backoff for 408, 429 (Retry-After), 5xx and broken connections.
/// Every request is built afresh by a factory, so a body can be sent again after a retry or a challenge.
/// </summary>
public sealed class RegistryClient : IDisposable
{
    private static readonly HttpStatusCode[] Transient =
        [HttpStatusCode.RequestTimeout, HttpStatusCode.TooManyRequests, HttpStatusCode.InternalServerError,
         HttpStatusCode.BadGateway, HttpStatusCode.ServiceUnavailable, HttpStatusCode.GatewayTimeout];

    private readonly HttpClient _http;
    private readonly RegistryOptions _options;
    private readonly CredentialResolver _credentials;
    private readonly IBuildLog _log;
    private readonly ConcurrentDictionary<string, string> _tokens = new(StringComparer.Ordinal);
    private readonly ResiliencePipeline<HttpResponseMessage> _retry;
    private readonly SemaphoreSlim _schemeLock = new(1, 1);
    private readonly Lazy<RegistryCredential?> _credential;
    private Uri? _baseUri;

    // Written by whichever upload meets a new challenge first, read by all of them: a reference, swapped whole.
    private volatile AuthChallenge? _challenge;

    public RegistryClient(string registry, RegistryOptions? options = null, CredentialResolver? credentials = null, IBuildLog? log = null, HttpMessageHandler? handler = null)
    {
        Registry = registry;
        _options = options ?? new RegistryOptions();
        _credentials = credentials ?? new CredentialResolver();
        _log = log ?? NullBuildLog.Instance;

        // Resolved once, however many uploads ask at the same time (a credential helper runs once, the warning once).
        _credential = new Lazy<RegistryCredential?>(LoadCredential, LazyThreadSafetyMode.ExecutionAndPublication);
        _http = new HttpClient(handler ?? new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            Timeout = _options.RequestTimeout,
        };
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("Sdk.Containers", "0.1"));
        _retry = new ResiliencePipelineBuilder<HttpResponseMessage>()
            .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = _options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = _options.RetryBaseDelay,
                MaxDelay = _options.MaxRetryAfter,
                ShouldHandle = new PredicateBuilder<HttpResponseMessage>()
                    .Handle<HttpRequestException>(ex => ex.InnerException is not AuthenticationException)
                    .Handle<IOException>()
                    .Handle<TaskCanceledException>()
                    .HandleResult(r => Transient.Contains(r.StatusCode)),
                DelayGenerator = args =>
                {
                    var retryAfter = args.Outcome.Result?.Headers.RetryAfter;
                    var delay = retryAfter?.Delta ?? (retryAfter?.Date - DateTimeOffset.UtcNow);
                    return ValueTask.FromResult(delay is { } d && d > TimeSpan.Zero ? (TimeSpan?)(d < _options.MaxRetryAfter ? d : _options.MaxRetryAfter) : null);
                },
                OnRetry = args =>
                {
                    var why = args.Outcome.Result is { } r ? $"{(int)r.StatusCode} {r.ReasonPhrase}" : args.Outcome.Exception?.Message;
                    _log.Detail($"{Registry}: retrying after {why} (attempt {args.AttemptNumber + 2} of {_options.MaxRetries + 1}, in {args.RetryDelay.TotalSeconds:F1} s)");
                    args.Outcome.Result?.Dispose();
                    return default;
                },
            })
            .Build();
    }

    public string Registry { get; }

    /// <summary>
    /// Sends a request for a repository, authenticating and retrying as needed. The response is returned whatever its
    /// status once retries are exhausted or the status is not transient; the caller decides what a status means.
    /// </summary>
    /// <param name="scopes">Token scopes the request needs, e.g. "repository:app:pull,push".</param>
    public async Task<HttpResponseMessage> SendAsync(Func<Uri, HttpRequestMessage> createRequest, IReadOnlyList<string> scopes, CancellationToken cancellationToken)
    {
        var baseUri = await GetBaseUriAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await _retry.ExecuteAsync(async token =>
            {
                var response = await SendAuthenticatedAsync(createRequest(baseUri), scopes, token).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.Unauthorized && AuthChallenge.From(response) is { } challenge)
                {
                    // A 401 on a request we authenticated may ask for more scope than the token had: fetch again, once.
                    response.Dispose();
                    _challenge = challenge;
                    await AuthenticateAsync(challenge, scopes, token, force: true).ConfigureAwait(false);
                    response = await SendAuthenticatedAsync(createRequest(baseUri), scopes, token).ConfigureAwait(false);
                    if (response.StatusCode == HttpStatusCode.Unauthorized)
                    {
                        response.Dispose();
                        throw Refused(scopes);
                    }
                }

                return response;
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw new ContainerException(ErrorCodes.RegistryUnreachable, $"Cannot reach the registry {Registry} ({baseUri.Scheme}): {ex.Message}", ex);
        }
        catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ContainerException(ErrorCodes.RegistryUnreachable, $"The registry {Registry} did not answer within {_options.RequestTimeout.TotalSeconds:F0} s, after {_options.MaxRetries + 1} attempts.", ex);
        }
        catch (IOException ex)
        {
            throw new ContainerException(ErrorCodes.RegistryUnreachable, $"The connection to the registry {Registry} broke: {ex.Message}", ex);
        }
    }

    /// <summary>The base URI, found once: HTTPS, or HTTP for a loopback or insecure registry that does not speak TLS.</summary>
    public async Task<Uri> GetBaseUriAsync(CancellationToken cancellationToken)
    {
        if (_baseUri is not null)
        {
            return _baseUri;
        }

        await _schemeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_baseUri is not null)
            {
                return _baseUri;
            }

            // Docker Hub's images are named docker.io/... but its API is served from registry-1.docker.io.
            var host = Registry == References.ImageReference.DockerHub ? "registry-1.docker.io" : Registry;
            var https = new Uri($"https://{host}/");
            try
            {
                using var response = await PingAsync(https, cancellationToken).ConfigureAwait(false);
                _challenge = AuthChallenge.From(response);
                return _baseUri = https;
            }
            catch (HttpRequestException ex) when (_options.AllowsHttp(Registry))
            {
                _log.Detail($"{Registry}: HTTPS failed ({ex.Message}); using HTTP, as for any loopback or insecure registry");
                var http = new Uri($"http://{host}/");
                try
                {
                    using var response = await PingAsync(http, cancellationToken).ConfigureAwait(false);
                    _challenge = AuthChallenge.From(response);
                }
                catch (HttpRequestException inner)
                {
                    throw new ContainerException(ErrorCodes.RegistryUnreachable, $"Cannot reach the registry {Registry} over HTTPS or HTTP: {inner.Message}", inner);
                }

                return _baseUri = http;
            }
            catch (HttpRequestException ex)
            {
                var hint = ex.InnerException is AuthenticationException
                    ? " The TLS handshake failed: trust the registry's CA (SSL_CERT_FILE), or list it in ContainerInsecureRegistries if it serves plain HTTP."
                    : string.Empty;
                throw new ContainerException(ErrorCodes.RegistryUnreachable, $"Cannot reach the registry {Registry}: {ex.Message}.{hint}", ex);
            }
        }
        finally
        {
            _schemeLock.Release();
        }
    }

    private async Task<HttpResponseMessage> PingAsync(Uri baseUri, CancellationToken cancellationToken)
    {
        return await _retry.ExecuteAsync(async token =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(baseUri, "v2/"));
            return await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, token).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    private async Task<HttpResponseMessage> SendAuthenticatedAsync(HttpRequestMessage request, IReadOnlyList<string> scopes, CancellationToken cancellationToken)
    {
        using (request)
        {
            if (_challenge is { } challenge)
            {
                request.Headers.Authorization = await AuthenticateAsync(challenge, scopes, cancellationToken, force: false).ConfigureAwait(false);
            }

            return await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<AuthenticationHeaderValue?> AuthenticateAsync(AuthChallenge challenge, IReadOnlyList<string> scopes, CancellationToken cancellationToken, bool force)
    {
        var credential = GetCredential();
        if (challenge.IsBasic)
        {
            if (credential is null || credential.IsIdentityToken)
            {
                throw new ContainerException(ErrorCodes.Unauthorized, $"The registry {Registry} asks for a user name and password and none were found. Log in with `docker login {Registry}`, or set DOTNET_CONTAINER_REGISTRY_UNAME and DOTNET_CONTAINER_REGISTRY_PWORD.");
            }

            return new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{credential.Username}:{credential.Secret}")));
        }

        var key = string.Join(' ', scopes);
        if (!force && _tokens.TryGetValue(key, out var cached))
        {
            return new AuthenticationHeaderValue("Bearer", cached);
        }

        var token = await FetchTokenAsync(challenge, scopes, credential, cancellationToken).ConfigureAwait(false);
        _tokens[key] = token;
        return new AuthenticationHeaderValue("Bearer", token);
    }

    private RegistryCredential? GetCredential() => _credential.Value;

    private RegistryCredential? LoadCredential()
    {
        var credential = _credentials.Resolve(Registry);
        _log.Detail(credential is null ? $"{Registry}: no credentials found; using anonymous access" : $"{Registry}: using {credential}");
        if (credential?.Source.Contains("DOTNET_CONTAINER_REGISTRY_", StringComparison.Ordinal) == true)
        {
            // MSBuild exempts DOTNET_* variables from its binlog filtering: whatever they hold is in every binlog.
            _log.Warning(ErrorCodes.CredentialsInBinlog, $"The credentials for {Registry} come from DOTNET_CONTAINER_REGISTRY_UNAME/PWORD. MSBuild writes every DOTNET_* environment variable into binary logs (-bl), so the password is in any binlog of this build. Use SDK_CONTAINER_REGISTRY_UNAME/PWORD, `docker login` or a credential helper instead.");
        }

        return credential;
    }

    private async Task<string> FetchTokenAsync(AuthChallenge challenge, IReadOnlyList<string> scopes, RegistryCredential? credential, CancellationToken cancellationToken)
    {
        if (challenge.Realm is null || !Uri.TryCreate(challenge.Realm, UriKind.Absolute, out var realm) || realm.Scheme is not ("https" or "http"))
        {
            throw new ContainerException(ErrorCodes.RegistryError, $"The registry {Registry} asked for a bearer token but named no usable token service (realm '{challenge.Realm}').");
        }

        var query = new List<string>();
        if (challenge.Service is { } service)
        {
            query.Add("service=" + Uri.EscapeDataString(service));
        }

        foreach (var scope in scopes.Count > 0 ? scopes : challenge.Scope is { } s ? [s] : [])
        {
            query.Add("scope=" + Uri.EscapeDataString(scope));
        }

        var uri = new UriBuilder(realm) { Query = string.Join('&', query) }.Uri;
        using var response = await _retry.ExecuteAsync(async token =>
        {
            HttpRequestMessage request;
            if (credential is { IsIdentityToken: true })
            {
                // An identity token is a refresh token for the OAuth2 form post.
                var form = new Dictionary<string, string> { ["grant_type"] = "refresh_token", ["refresh_token"] = credential.Secret ?? string.Empty, ["client_id"] = "sdk-containers" };
                if (challenge.Service is { } svc)
                {
                    form["service"] = svc;
                }

                form["scope"] = string.Join(' ', scopes);
                request = new HttpRequestMessage(HttpMethod.Post, realm) { Content = new FormUrlEncodedContent(form) };
            }
            else
            {
                request = new HttpRequestMessage(HttpMethod.Get, uri);
                if (credential is not null)
                {
                    request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{credential.Username}:{credential.Secret}")));
                }
            }

            using (request)
            {
                return await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            }
        }, cancellationToken).ConfigureAwait(false);

        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            throw Refused(scopes);
        }

        if (!response.IsSuccessStatusCode)
        {
            throw new ContainerException(ErrorCodes.RegistryError, $"The token service of {Registry} ({realm.GetLeftPart(UriPartial.Path)}) answered {(int)response.StatusCode} {response.ReasonPhrase}.");
        }

        try
        {
            using var document = JsonDocument.Parse(await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false));
            var root = document.RootElement;
            var token = (root.TryGetProperty("token", out var t) ? t.GetString() : null) ?? (root.TryGetProperty("access_token", out var a) ? a.GetString() : null);
            return string.IsNullOrEmpty(token)
                ? throw new ContainerException(ErrorCodes.RegistryError, $"The token service of {Registry} answered without a token.")
                : token;
        }
        catch (JsonException)
        {
            throw new ContainerException(ErrorCodes.RegistryError, $"The token service of {Registry} ({realm.GetLeftPart(UriPartial.Path)}) answered with something that is not JSON.");
        }
    }

    private ContainerException Refused(IReadOnlyList<string> scopes)
    {
        var credential = GetCredential();
        var what = string.Join(", ", scopes.Select(s => s.Replace("repository:", string.Empty, StringComparison.Ordinal)));
        return credential is null
            ? new ContainerException(ErrorCodes.Unauthorized, $"The registry {Registry} requires credentials for {what} and none were found. Log in with `docker login {Registry}`, or set DOTNET_CONTAINER_REGISTRY_UNAME and DOTNET_CONTAINER_REGISTRY_PWORD.")
            : new ContainerException(ErrorCodes.Unauthorized, $"The registry {Registry} refused the credentials from {credential.Source} for {what}. Check the user name and password, and that the account may access the repository.");
    }

    public static string PullScope(string repository) => $"repository:{repository}:pull";

    public static string PushScope(string repository) => $"repository:{repository}:pull,push";

    public void Dispose()
    {
        _http.Dispose();
        _schemeLock.Dispose();
    }
}
