using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Sdk.Containers.Registry;

/// <summary>
/// Finds credentials for a registry the way Docker, Podman and the SDK do: CI environment variables first, then
/// Docker's config.json (credHelpers, credsStore, auths) and the containers auth.json files.
/// </summary>
public sealed class CredentialResolver
{
    private readonly Func<string, string?> _environment;

    public CredentialResolver(Func<string, string?>? environment = null)
    {
        _environment = environment ?? Environment.GetEnvironmentVariable;
    }

    public RegistryCredential? Resolve(string registry)
    {
        foreach (var prefix in new[] { "DOTNET_CONTAINER_REGISTRY", "SDK_CONTAINER_REGISTRY" })
        {
            var user = _environment($"{prefix}_UNAME");
            var password = _environment($"{prefix}_PWORD");
            if (!string.IsNullOrEmpty(user) && !string.IsNullOrEmpty(password))
            {
                return new RegistryCredential(user, password, $"the environment variables {prefix}_UNAME and {prefix}_PWORD");
            }
        }

        foreach (var file in ConfigFiles())
        {
            if (FromConfigFile(file, registry) is { } credential)
            {
                return credential;
            }
        }

        return null;
    }

    private IEnumerable<string> ConfigFiles()
    {
        var dockerConfig = _environment("DOCKER_CONFIG");
        var home = _environment("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        yield return Path.Combine(string.IsNullOrEmpty(dockerConfig) ? Path.Combine(home, ".docker") : dockerConfig, "config.json");
        if (_environment("REGISTRY_AUTH_FILE") is { Length: > 0 } authFile)
        {
            yield return authFile;
        }

        if (_environment("XDG_RUNTIME_DIR") is { Length: > 0 } runtimeDir)
        {
            yield return Path.Combine(runtimeDir, "containers", "auth.json");
        }

        yield return Path.Combine(home, ".config", "containers", "auth.json");
    }

    private RegistryCredential? FromConfigFile(string path, string registry)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException ex)
        {
            throw new ContainerException(ErrorCodes.CredentialsUnavailable, $"The credentials file '{path}' is not valid JSON (line {ex.LineNumber + 1}); fix or remove it.");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.TryGetProperty("credHelpers", out var helpers) && FindKey(helpers, registry) is { ValueKind: JsonValueKind.String } helper)
            {
                return FromHelper(helper.GetString()!, registry, path);
            }

            if (root.TryGetProperty("auths", out var auths) && FindKey(auths, registry) is { ValueKind: JsonValueKind.Object } entry)
            {
                if (entry.TryGetProperty("identitytoken", out var token) && token.GetString() is { Length: > 0 } identityToken)
                {
                    var user = entry.TryGetProperty("username", out var u) ? u.GetString() : null;
                    return new RegistryCredential(user, identityToken, path, isIdentityToken: true);
                }

                if (entry.TryGetProperty("auth", out var auth) && auth.GetString() is { Length: > 0 } encoded)
                {
                    return Decode(encoded, path, registry);
                }

                if (entry.TryGetProperty("username", out var name) && entry.TryGetProperty("password", out var password))
                {
                    return new RegistryCredential(name.GetString(), password.GetString(), path);
                }
            }

            if (root.TryGetProperty("credsStore", out var store) && store.GetString() is { Length: > 0 } storeName)
            {
                return FromHelper(storeName, registry, path);
            }
        }

        return null;
    }

    /// <summary>Keys may be "host", "host:port", "https://host" or "https://host/v1/" (Docker Hub's old index).</summary>
    private static JsonElement? FindKey(JsonElement map, string registry)
    {
        if (map.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var wanted = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { registry };
        if (registry is "docker.io" or "registry-1.docker.io" or "index.docker.io")
        {
            wanted.UnionWith(["docker.io", "index.docker.io", "registry-1.docker.io"]);
        }

        foreach (var property in map.EnumerateObject())
        {
            var key = property.Name;
            var schemeEnd = key.IndexOf("://", StringComparison.Ordinal);
            if (schemeEnd >= 0)
            {
                key = key[(schemeEnd + 3)..];
            }

            key = key.Split('/')[0];
            if (wanted.Contains(key))
            {
                return property.Value;
            }
        }

        return null;
    }

    private static RegistryCredential Decode(string encoded, string path, string registry)
    {
        string decoded;
        try
        {
            decoded = Encoding.UTF8.GetString(Convert.FromBase64String(encoded));
        }
        catch (FormatException)
        {
            throw new ContainerException(ErrorCodes.CredentialsUnavailable, $"The 'auth' entry for {registry} in '{path}' is not base64 'user:password'.");
        }

        var colon = decoded.IndexOf(':');
        return colon < 0
            ? throw new ContainerException(ErrorCodes.CredentialsUnavailable, $"The 'auth' entry for {registry} in '{path}' does not hold 'user:password'.")
            : new RegistryCredential(decoded[..colon], decoded[(colon + 1)..], path);
    }

    /// <summary>Runs docker-credential-NAME get, which reads the server on stdin and prints {Username, Secret}.</summary>
    private static RegistryCredential? FromHelper(string name, string registry, string configPath)
    {
        var program = $"docker-credential-{name}";
        var info = new ProcessStartInfo(program)
        {
            ArgumentList = { "get" },
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        Process process;
        try
        {
            process = Process.Start(info)!;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new ContainerException(ErrorCodes.CredentialsUnavailable, $"'{configPath}' names the credential helper '{name}' for {registry}, but {program} is not on PATH.");
        }

        using (process)
        {
            process.StandardInput.Write(registry);
            process.StandardInput.Close();
            var output = process.StandardOutput.ReadToEnd();
            process.StandardError.ReadToEnd();
            if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
            {
                process.Kill();
                throw new ContainerException(ErrorCodes.CredentialsUnavailable, $"The credential helper {program} did not answer for {registry} within a minute.");
            }

            if (process.ExitCode != 0)
            {
                // Helpers exit non-zero with "credentials not found in native keychain" when they have nothing.
                return null;
            }

            try
            {
                using var document = JsonDocument.Parse(output);
                var user = document.RootElement.TryGetProperty("Username", out var u) ? u.GetString() : null;
                var secret = document.RootElement.TryGetProperty("Secret", out var s) ? s.GetString() : null;
                var source = $"the credential helper {program}";
                return user == "<token>" ? new RegistryCredential(null, secret, source, isIdentityToken: true) : new RegistryCredential(user, secret, source);
            }
            catch (JsonException)
            {
                throw new ContainerException(ErrorCodes.CredentialsUnavailable, $"The credential helper {program} printed something that is not JSON for {registry}.");
            }
        }
    }
}
