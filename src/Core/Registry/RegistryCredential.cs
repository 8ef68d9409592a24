namespace Sdk.Containers.Registry;

/// <summary>
/// A user name and password, or an identity (refresh) token, for one registry. <see cref="ToString"/> never shows the
/// secret: only <see cref="Source"/>, which says where it came from, may appear in messages.
/// </summary>
public sealed class RegistryCredential(string? username, string? secret, string source, bool isIdentityToken = false)
{
    public string? Username { get; } = username;

    /// <summary>The password, or the identity token when <see cref="IsIdentityToken"/>.</summary>
    public string? Secret { get; } = secret;

    public bool IsIdentityToken { get; } = isIdentityToken;

    /// <summary>Where the credential came from ("DOTNET_CONTAINER_REGISTRY_UNAME/PWORD", "~/.docker/config.json", ...).</summary>
    public string Source { get; } = source;

    public override string ToString() => $"credentials for {Username ?? "(token)"} from {Source}";
}
