namespace Sdk.Containers.Registry;

public sealed record RegistryOptions
{
    /// <summary>Registries reached over plain HTTP when HTTPS fails (loopback hosts always are, as Docker does).</summary>
    public IReadOnlyCollection<string> InsecureRegistries { get; init; } = [];

    /// <summary>The largest request body sent at once; larger blobs go up in PATCH chunks of at most this size.</summary>
    public long MaxChunkSize { get; init; } = 64L * 1024 * 1024;

    /// <summary>Retries after the first attempt for 408, 429, 5xx and broken connections.</summary>
    public int MaxRetries { get; init; } = 5;

    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The most a Retry-After is honoured for, so a misbehaving registry cannot stall a build for hours.</summary>
    public TimeSpan MaxRetryAfter { get; init; } = TimeSpan.FromSeconds(30);

    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMinutes(10);

    public int ParallelBlobs { get; init; } = 4;

    /// <summary>Upload sessions one blob may start: a session that broke half-way is not resumed but begun again.</summary>
    public int UploadAttempts { get; init; } = 3;

    public static bool IsLoopback(string registry)
    {
        var host = registry.StartsWith('[') ? registry[..(registry.IndexOf(']') + 1)] : registry.Split(':')[0];
        return host is "localhost" or "127.0.0.1" or "[::1]" || host.StartsWith("127.", StringComparison.Ordinal);
    }

    public bool AllowsHttp(string registry)
        => IsLoopback(registry) || InsecureRegistries.Contains(registry, StringComparer.OrdinalIgnoreCase);
}
