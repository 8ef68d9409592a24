using System.Collections.Concurrent;

namespace Sdk.Containers.Registry;

/// <summary>The registry clients of one build, one per registry host, sharing options, credentials and log.</summary>
public sealed class RegistrySession(RegistryOptions options, IBuildLog log, CredentialResolver? credentials = null, Func<HttpMessageHandler>? handlerFactory = null) : IDisposable
{
    // Lazy, so two threads asking for a new registry at once share one client (one token cache, one credential lookup).
    private readonly ConcurrentDictionary<string, Lazy<RegistryApi>> _clients = new(StringComparer.OrdinalIgnoreCase);

    public RegistryOptions Options => options;

    public IBuildLog Log => log;

    public RegistryApi For(string registry)
        => _clients.GetOrAdd(registry, r => new Lazy<RegistryApi>(() => new RegistryApi(r, options, credentials, log, handlerFactory?.Invoke()))).Value;

    public void Dispose()
    {
        foreach (var client in _clients.Values.Where(c => c.IsValueCreated))
        {
            client.Value.Dispose();
        }
    }
}
