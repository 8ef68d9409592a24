using System.Net;
using System.Net.Http.Headers;

namespace Sdk.Containers.Registry;

/// <summary>
/// Authenticates requests the way the registry's WWW-Authenticate challenge asks: Basic, or a Bearer token per set of
/// scopes from the token service (an identity token refreshed through OAuth2). The challenge is learnt from the ping
/// and any later 401, so requests carry credentials up front. A refused token is replaced once for all the requests
/// it refused. A request is refused for good when, after one refresh of its own, it is refused a token that never
/// worked for any request (the credentials or the scope); a token that worked and is then refused has expired.
/// The credential is resolved once, on first need, however many requests need it at once.
/// </summary>
internal sealed class AuthHandler : DelegatingHandler
{
    // Expired tokens are replaced as often as they expire; a request that is refused this many tokens in a row, each
    // of which worked for others, is being refused all the same.
    private const int MaxRounds = 10;

    private readonly string _registry;
    private readonly Lazy<RegistryCredential?> _credential;
    private readonly TokenCache _tokens = new();
    private readonly TokenService _tokenService;

    // Written by whichever request meets a new challenge first, read by all of them: a reference, swapped whole.
    private volatile AuthChallenge? _challenge;

    public AuthHandler(string registry, RegistryOptions options, CredentialResolver credentials, IBuildLog log)
    {
        _registry = registry;
        _credential = new Lazy<RegistryCredential?>(() => LoadCredential(registry, credentials, log), LazyThreadSafetyMode.ExecutionAndPublication);
        _tokenService = new TokenService(registry, options, base.SendAsync);
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var scopes = RegistryHttp.ScopesOf(request);
        var authorization = scopes is not null && _challenge is { } known
            ? await AuthorizeAsync(request, known, scopes, previous: null, cancellationToken).ConfigureAwait(false)
            : null;
        for (var round = 1; ; round++)
        {
            var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.Unauthorized || AuthChallenge.From(response) is not { } challenge)
            {
                authorization?.Token?.MarkWorked();
                return response;
            }

            _challenge = challenge;
            if (scopes is null)
            {
                return response;
            }

            response.Dispose();
            if (round == MaxRounds || (authorization is { AfterRefusal: true } && authorization.Token is not { Worked: true }))
            {
                throw RegistryErrors.Refused(_registry, _credential.Value, scopes);
            }

            authorization = await AuthorizeAsync(request, challenge, scopes, authorization ?? new Authorization(null, false), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Sets the request's Authorization for <paramref name="challenge"/>; after a refusal of <paramref name="previous"/>, with a newer token.</summary>
    private async Task<Authorization> AuthorizeAsync(HttpRequestMessage request, AuthChallenge challenge, IReadOnlyList<string> scopes, Authorization? previous, CancellationToken cancellationToken)
    {
        var credential = _credential.Value;
        if (challenge.IsBasic)
        {
            if (credential is null || credential.IsIdentityToken)
            {
                throw RegistryErrors.BasicWithoutCredentials(_registry);
            }

            request.Headers.Authorization = TokenService.Basic(credential);
            return new Authorization(null, AfterRefusal: previous is not null);
        }

        var scope = string.Join(' ', scopes);
        Task<string> Fetch(CancellationToken token) => _tokenService.FetchAsync(challenge, scopes, credential, token);
        var token = previous?.Token is { } refused
            ? await _tokens.RefreshAsync(scope, refused, Fetch, cancellationToken).ConfigureAwait(false)
            : await _tokens.GetAsync(scope, Fetch, cancellationToken).ConfigureAwait(false);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token.Value);
        return new Authorization(token, AfterRefusal: previous is not null);
    }

    private static RegistryCredential? LoadCredential(string registry, CredentialResolver credentials, IBuildLog log)
    {
        var credential = credentials.Resolve(registry);
        log.Detail(credential is null ? $"{registry}: no credentials found; using anonymous access" : $"{registry}: using {credential}");
        if (credential?.Source.Contains("DOTNET_CONTAINER_REGISTRY_", StringComparison.Ordinal) == true)
        {
            // MSBuild exempts DOTNET_* variables from its binlog filtering: whatever they hold is in every binlog.
            log.Warning(ErrorCodes.CredentialsInBinlog, $"The credentials for {registry} come from DOTNET_CONTAINER_REGISTRY_UNAME/PWORD. MSBuild writes every DOTNET_* environment variable into binary logs (-bl), so the password is in any binlog of this build. Use SDK_CONTAINER_REGISTRY_UNAME/PWORD, `docker login` or a credential helper instead.");
        }

        return credential;
    }

    /// <summary>What a request was sent with: the bearer token (none for Basic), and whether it came after a refusal of this request.</summary>
    private sealed record Authorization(BearerToken? Token, bool AfterRefusal);
}
