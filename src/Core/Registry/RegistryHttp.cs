using System.Net.Http.Headers;

namespace Sdk.Containers.Registry;

/// <summary>What the handlers of the registry chain agree on: the user agent, and the scopes a request carries.</summary>
internal static class RegistryHttp
{
    public static readonly ProductInfoHeaderValue UserAgent = new("Sdk.Containers", "0.1");

    /// <summary>
    /// The token scopes a request needs ("repository:app:pull,push"). A request without them (the ping) is sent as it
    /// is: a 401 it gets only tells the chain how the registry authenticates.
    /// </summary>
    public static readonly HttpRequestOptionsKey<IReadOnlyList<string>> Scopes = new("Sdk.Containers.Registry.Scopes");

    /// <summary>A request as every one of ours starts: handlers create some too (pings, token fetches), so not HttpClient's defaults.</summary>
    public static HttpRequestMessage NewRequest(HttpMethod method, Uri uri, HttpContent? content = null)
    {
        var request = new HttpRequestMessage(method, uri) { Content = content };
        request.Headers.UserAgent.Add(UserAgent);
        return request;
    }

    public static IReadOnlyList<string>? ScopesOf(HttpRequestMessage request)
        => request.Options.TryGetValue(Scopes, out var scopes) ? scopes : null;
}
