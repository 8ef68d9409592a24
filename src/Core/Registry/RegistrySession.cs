using System.Collections.Concurrent;

namespace Sdk.Containers.Registry;

/// <summary>The registry clients of one build, one per registry host, sharing options, credentials and log.</summary>
public sealed class RegistrySession(RegistryOptions options, IBuildLog log, CredentialResolver? credentials = null, Func<HttpMessageHandler>? handlerFactory = null) : IDisposable
{
    private readonly ConcurrentDictionary<string, RegistryClient> _clients = new(StringComparer.OrdinalIgnoreCase);

    public RegistryOptions Options => options;

    public IBuildLog Log => log;

    public RegistryClient For(string registry)
        => _clients.GetOrAdd(registry, r => new RegistryClient(r, options, credentials, log, handlerFactory?.Invoke()));

    public void Dispose()
    {
        foreach (var client in _clients.Values)
        {
            client.Dispose();
        }
    }
}
