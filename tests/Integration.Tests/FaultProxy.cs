using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace Sdk.Containers.Integration;

/// <summary>
/// An HTTP proxy written for the tests, in front of a real registry: it counts requests by kind, records the largest
/// request body, and on demand answers a share of requests with 503, 429 + Retry-After or a reset connection, cuts
/// bodies short, or flips one byte of every blob it serves; or, in front of a token-auth registry, expires each bearer
/// token after a number of uses, as a token service with short-lived tokens would.
/// </summary>
public sealed class FaultProxy : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly HttpClient _upstream;
    private readonly Random _random = new(20261122);
    private readonly object _randomLock = new();

    public FaultProxy(string upstreamHost)
    {
        _upstream = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri($"http://{upstreamHost}/"), Timeout = TimeSpan.FromMinutes(5) };
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = null);
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.Run(ForwardAsync);
        _app.StartAsync().GetAwaiter().GetResult();
        Host = new Uri(_app.Urls.First()).Authority;
    }

    /// <summary>host:port of the proxy.</summary>
    public string Host { get; }

    /// <summary>The share of requests (0 to 1) answered with a fault.</summary>
    public double FailureRate { get; set; }

    public bool FlipBlobBytes { get; set; }

    /// <summary>The share of requests (0 to 1) held for <see cref="SlowDelay"/> before they are answered.</summary>
    public double SlowRate { get; set; }

    public TimeSpan SlowDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>When set, blob GETs are answered 307 to this base URL + /blobs/&lt;digest&gt; (a CDN, or a bad scheme).</summary>
    public string? RedirectBlobsTo { get; set; }

    /// <summary>
    /// When set, a bearer token is answered 401 with <see cref="TokenChallenge"/> from its (n+1)-th use on: an expiry by
    /// work done, not by the clock, so a test of it cannot depend on how fast the machine is.
    /// </summary>
    public int? TokenUses { get; set; }

    /// <summary>The WWW-Authenticate of an expired token's 401.</summary>
    public string? TokenChallenge { get; set; }

    /// <summary>Distinct tokens that <see cref="TokenUses"/> expired.</summary>
    public int TokensExpired;

    /// <summary>Requests answered 401 because their token had expired.</summary>
    public int ExpiredTokenRequests;

    private readonly ConcurrentDictionary<string, int> _tokenUses = new(StringComparer.Ordinal);

    public ConcurrentQueue<(string Method, string Path, int Status)> Requests { get; } = new();

    public long LargestRequestBody;

    /// <summary>Bytes of request bodies forwarded: what a push uploaded.</summary>
    public long BytesReceived;

    public int FaultsInjected;

    public void Reset()
    {
        Requests.Clear();
        LargestRequestBody = 0;
        BytesReceived = 0;
        FaultsInjected = 0;
    }

    public int Count(string method, string pathContains, int? status = null)
        => Requests.Count(r => r.Method == method && r.Path.Contains(pathContains, StringComparison.Ordinal) && (status is null || r.Status == status));

    private async Task ForwardAsync(HttpContext context)
    {
        var pathAndQuery = context.Request.Path + context.Request.QueryString;
        if (TokenUses is { } limit && context.Request.Headers.Authorization.ToString() is { } authorization && authorization.StartsWith("Bearer ", StringComparison.Ordinal))
        {
            var uses = _tokenUses.AddOrUpdate(authorization, 1, (_, n) => n + 1);
            if (uses > limit)
            {
                if (uses == limit + 1)
                {
                    Interlocked.Increment(ref TokensExpired);
                }

                Interlocked.Increment(ref ExpiredTokenRequests);

                // Read what was sent first, as the registry would, so the client sees a 401 and not a broken upload.
                await context.Request.Body.CopyToAsync(Stream.Null);
                context.Response.StatusCode = 401;
                context.Response.Headers.WWWAuthenticate = TokenChallenge;
                Requests.Enqueue((context.Request.Method, pathAndQuery, 401));
                return;
            }
        }

        var fault = PickFault(context.Request.Path);
        if (SlowRate > 0 && context.Request.Path != "/v2/" && NextDouble() < SlowRate)
        {
            // Slower than the client waits: it gives up on this answer and must try again.
            Interlocked.Increment(ref FaultsInjected);
            Requests.Enqueue((context.Request.Method, pathAndQuery, -1));
            await Task.Delay(SlowDelay);
        }

        if (fault is "503" or "429")
        {
            Interlocked.Increment(ref FaultsInjected);
            context.Response.StatusCode = fault == "503" ? 503 : 429;
            if (fault == "429")
            {
                context.Response.Headers.RetryAfter = "1";
            }

            Requests.Enqueue((context.Request.Method, pathAndQuery, context.Response.StatusCode));
            return;
        }

        if (fault == "reset")
        {
            Interlocked.Increment(ref FaultsInjected);
            Requests.Enqueue((context.Request.Method, pathAndQuery, 0));
            context.Abort();
            return;
        }

        if (RedirectBlobsTo is { } target && HttpMethods.IsGet(context.Request.Method) && context.Request.Path.Value!.Contains("/blobs/sha256:", StringComparison.Ordinal))
        {
            var digest = context.Request.Path.Value![(context.Request.Path.Value!.LastIndexOf('/') + 1)..];
            context.Response.StatusCode = 307;
            context.Response.Headers.Location = $"{target.TrimEnd('/')}/blobs/{digest}";
            Requests.Enqueue((context.Request.Method, pathAndQuery, 307));
            return;
        }

        using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), pathAndQuery.TrimStart('/'));
        if (context.Request.ContentLength is > 0 || context.Request.Headers.TransferEncoding.Count > 0 || HttpMethods.IsPatch(context.Request.Method) || HttpMethods.IsPut(context.Request.Method) || HttpMethods.IsPost(context.Request.Method))
        {
            var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            InterlockedMax(ref LargestRequestBody, body.Length);
            Interlocked.Add(ref BytesReceived, body.Length);
            body.Position = 0;
            request.Content = new StreamContent(body);
        }

        foreach (var (key, values) in context.Request.Headers)
        {
            if (key.Equals("Host", StringComparison.OrdinalIgnoreCase) || key.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (!request.Headers.TryAddWithoutValidation(key, values.ToArray()))
            {
                request.Content?.Headers.TryAddWithoutValidation(key, values.ToArray());
            }
        }

        using var response = await _upstream.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Requests.Enqueue((context.Request.Method, pathAndQuery, (int)response.StatusCode));
        context.Response.StatusCode = (int)response.StatusCode;
        foreach (var (key, values) in response.Headers.Concat(response.Content.Headers))
        {
            if (!key.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                context.Response.Headers[key] = values.ToArray();
            }
        }

        var isBlobGet = HttpMethods.IsGet(context.Request.Method) && context.Request.Path.Value!.Contains("/blobs/sha256:", StringComparison.Ordinal);
        if (isBlobGet && (FlipBlobBytes || fault == "truncate"))
        {
            var bytes = await response.Content.ReadAsByteArrayAsync();
            if (fault == "truncate")
            {
                Interlocked.Increment(ref FaultsInjected);
                await context.Response.Body.WriteAsync(bytes.AsMemory(0, bytes.Length / 2));
                await context.Response.Body.FlushAsync();
                context.Abort();
                return;
            }

            if (bytes.Length > 0)
            {
                bytes[bytes.Length / 2] ^= 0x01;
            }

            await context.Response.Body.WriteAsync(bytes);
            return;
        }

        await response.Content.CopyToAsync(context.Response.Body);
    }

    private string? PickFault(PathString path)
    {
        if (FailureRate <= 0 || path == "/v2/" || path == "/v2")
        {
            return null;
        }

        lock (_randomLock)
        {
            if (_random.NextDouble() >= FailureRate)
            {
                return null;
            }

            return (_random.Next(4)) switch
            {
                0 => "503",
                1 => "429",
                2 => "reset",
                _ => path.Value!.Contains("/blobs/sha256:", StringComparison.Ordinal) ? "truncate" : "503",
            };
        }
    }

    private double NextDouble()
    {
        lock (_randomLock)
        {
            return _random.NextDouble();
        }
    }

    private static void InterlockedMax(ref long target, long value)
    {
        long current;
        while (value > (current = Interlocked.Read(ref target)) && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        _upstream.Dispose();
    }
}
