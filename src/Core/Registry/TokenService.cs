using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Sdk.Containers.Registry;

/// <summary>The token service's answer: Docker's "token", or OAuth2's "access_token".</summary>
internal sealed record TokenResponse
{
    [JsonPropertyName("token")]
    public string? Token { get; init; }

    [JsonPropertyName("access_token")]
    public string? AccessToken { get; init; }

    [JsonPropertyName("expires_in")]
    public int? ExpiresIn { get; init; }
}

[JsonSerializable(typeof(TokenResponse))]
internal sealed partial class RegistryJsonContext : JsonSerializerContext
{
}

/// <summary>
/// Fetches bearer tokens from the token service a challenge names, per the distribution token spec: a GET with
/// Basic credentials (or none), or, for an identity token, the OAuth2 refresh-token form post.
/// </summary>
internal sealed class TokenService(string registry, RegistryOptions options, Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> send)
{
    // A token answer is a few kilobytes; one that is not is not a token answer.
    private const int MaxAnswer = 1 << 20;

    public async Task<string> FetchAsync(AuthChallenge challenge, IReadOnlyList<string> scopes, RegistryCredential? credential, CancellationToken cancellationToken)
    {
        if (challenge.Realm is null || !Uri.TryCreate(challenge.Realm, UriKind.Absolute, out var realm) || realm.Scheme is not ("https" or "http"))
        {
            throw RegistryErrors.NoTokenService(registry, challenge.Realm);
        }

        var wanted = scopes.Count > 0 ? scopes : challenge.Scope is { } s ? [s] : [];
        using var request = credential is { IsIdentityToken: true }
            ? RefreshTokenRequest(realm, challenge, wanted, credential)
            : TokenRequest(realm, challenge, wanted, credential);
        using var response = await send(request, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            throw RegistryErrors.Refused(registry, credential, scopes);
        }

        if (!response.IsSuccessStatusCode)
        {
            throw RegistryErrors.TokenServiceFailed(registry, realm, response);
        }

        if (response.Content.Headers.ContentLength > MaxAnswer)
        {
            throw RegistryErrors.TokenNotJson(registry, realm);
        }

        // The handlers' per-attempt timeout ends with the headers; the body gets one of its own.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.RequestTimeout);
        var body = await response.Content.ReadAsByteArrayAsync(timeout.Token).ConfigureAwait(false);
        TokenResponse? answer;
        try
        {
            answer = JsonSerializer.Deserialize(body, RegistryJsonContext.Default.TokenResponse);
        }
        catch (JsonException)
        {
            throw RegistryErrors.TokenNotJson(registry, realm);
        }

        var token = answer?.Token is { Length: > 0 } t ? t : answer?.AccessToken;
        return string.IsNullOrEmpty(token) ? throw RegistryErrors.NoToken(registry) : token;
    }

    private static HttpRequestMessage TokenRequest(Uri realm, AuthChallenge challenge, IReadOnlyList<string> scopes, RegistryCredential? credential)
    {
        var query = new List<string>();
        if (challenge.Service is { } service)
        {
            query.Add("service=" + Uri.EscapeDataString(service));
        }

        query.AddRange(scopes.Select(scope => "scope=" + Uri.EscapeDataString(scope)));
        var request = RegistryHttp.NewRequest(HttpMethod.Get, new UriBuilder(realm) { Query = string.Join('&', query) }.Uri);
        if (credential is not null)
        {
            request.Headers.Authorization = Basic(credential);
        }

        return request;
    }

    /// <summary>An identity token is a refresh token for the OAuth2 form post.</summary>
    private static HttpRequestMessage RefreshTokenRequest(Uri realm, AuthChallenge challenge, IReadOnlyList<string> scopes, RegistryCredential credential)
    {
        var form = new Dictionary<string, string> { ["grant_type"] = "refresh_token", ["refresh_token"] = credential.Secret ?? string.Empty, ["client_id"] = "sdk-containers" };
        if (challenge.Service is { } service)
        {
            form["service"] = service;
        }

        form["scope"] = string.Join(' ', scopes);
        return RegistryHttp.NewRequest(HttpMethod.Post, realm, new FormUrlEncodedContent(form));
    }

    public static AuthenticationHeaderValue Basic(RegistryCredential credential)
        => new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{credential.Username}:{credential.Secret}")));
}
