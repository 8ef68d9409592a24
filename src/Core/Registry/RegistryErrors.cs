using System.Net;
using System.Security.Authentication;

namespace Sdk.Containers.Registry;

/// <summary>
/// Every coded error of the registry transport and its typed API, in one place. Messages name the registry and, for a
/// credential, only where it came from: never a user name's password, a token or an Authorization header.
/// </summary>
internal static class RegistryErrors
{
    public static ContainerException Unreachable(string registry, string? scheme, HttpRequestException ex)
        => new(ErrorCodes.RegistryUnreachable, $"Cannot reach the registry {registry} ({scheme}): {ex.Message}", ex);

    public static ContainerException TimedOut(string registry, RegistryOptions options, Exception ex)
        => new(ErrorCodes.RegistryUnreachable, $"The registry {registry} did not answer within {options.RequestTimeout.TotalSeconds:F0} s, after {options.MaxRetries + 1} attempts.", ex);

    public static ContainerException ConnectionBroke(string registry, IOException ex)
        => new(ErrorCodes.RegistryUnreachable, $"The connection to the registry {registry} broke: {ex.Message}", ex);

    public static ContainerException UnreachableOverEither(string registry, HttpRequestException ex)
        => new(ErrorCodes.RegistryUnreachable, $"Cannot reach the registry {registry} over HTTPS or HTTP: {ex.Message}", ex);

    public static ContainerException UnreachableOverHttps(string registry, HttpRequestException ex)
    {
        var hint = ex.InnerException is AuthenticationException
            ? " The TLS handshake failed: trust the registry's CA (SSL_CERT_FILE), or list it in ContainerInsecureRegistries if it serves plain HTTP."
            : string.Empty;
        return new(ErrorCodes.RegistryUnreachable, $"Cannot reach the registry {registry}: {ex.Message}.{hint}", ex);
    }

    public static ContainerException BasicWithoutCredentials(string registry)
        => new(ErrorCodes.Unauthorized, $"The registry {registry} asks for a user name and password and none were found. Log in with `docker login {registry}`, or set DOTNET_CONTAINER_REGISTRY_UNAME and DOTNET_CONTAINER_REGISTRY_PWORD.");

    public static ContainerException Refused(string registry, RegistryCredential? credential, IReadOnlyList<string> scopes)
    {
        var what = string.Join(", ", scopes.Select(s => s.Replace("repository:", string.Empty, StringComparison.Ordinal)));
        return credential is null
            ? new(ErrorCodes.Unauthorized, $"The registry {registry} requires credentials for {what} and none were found. Log in with `docker login {registry}`, or set DOTNET_CONTAINER_REGISTRY_UNAME and DOTNET_CONTAINER_REGISTRY_PWORD.")
            : new(ErrorCodes.Unauthorized, $"The registry {registry} refused the credentials from {credential.Source} for {what}. Check the user name and password, and that the account may access the repository.");
    }

    public static ContainerException NoTokenService(string registry, string? realm)
        => new(ErrorCodes.RegistryError, $"The registry {registry} asked for a bearer token but named no usable token service (realm '{realm}').");

    public static ContainerException TokenServiceFailed(string registry, Uri realm, HttpResponseMessage response)
        => new(ErrorCodes.RegistryError, $"The token service of {registry} ({realm.GetLeftPart(UriPartial.Path)}) answered {(int)response.StatusCode} {response.ReasonPhrase}.");

    public static ContainerException NoToken(string registry)
        => new(ErrorCodes.RegistryError, $"The token service of {registry} answered without a token.");

    public static ContainerException TokenNotJson(string registry, Uri realm)
        => new(ErrorCodes.RegistryError, $"The token service of {registry} ({realm.GetLeftPart(UriPartial.Path)}) answered with something that is not JSON.");

    public static ContainerException NoUploadLocation()
        => new(ErrorCodes.RegistryError, "The registry started an upload without a Location header.");

    public static ContainerException TooLarge(string what, long? length, long limit)
        => new(ErrorCodes.RegistryError, length is { } n ? $"{what} is {n} bytes, too large for a manifest." : $"{what} is more than {limit} bytes, too large for a manifest.");

    public static ContainerException RedirectWithoutLocation(string registry, string what)
        => new(ErrorCodes.RegistryError, $"{registry} redirected {what} without saying where to.");

    public static ContainerException RedirectScheme(string registry, string what, Uri target)
        => new(ErrorCodes.RegistryError, $"{registry} redirected {what} to a '{target.Scheme}:' address; only http and https are followed.");

    /// <summary>An answer other than the one the operation needs ("{what} failed: the registry answered 404 Not Found.").</summary>
    public static ContainerException Unexpected(string what, HttpResponseMessage response)
        => new(ErrorCodes.RegistryError, $"{what} failed: the registry answered {(int)response.StatusCode} {response.ReasonPhrase}.");

    /// <summary>Throws unless the answer is <paramref name="status"/> (202 Accepted also takes 204, as registries send either).</summary>
    public static void Expect(HttpResponseMessage response, HttpStatusCode status, string what)
    {
        if (response.StatusCode != status && !(status == HttpStatusCode.Accepted && response.StatusCode == HttpStatusCode.NoContent))
        {
            throw Unexpected(what, response);
        }
    }

    public static void EnsureSuccess(HttpResponseMessage response, string what)
    {
        if (!response.IsSuccessStatusCode)
        {
            throw Unexpected(what, response);
        }
    }
}
