using System.Net;
using System.Security.Authentication;
using Polly;
using Polly.Retry;

namespace Sdk.Containers.Registry;

/// <summary>
/// Sends a request again with backoff after 408, 429 (honouring Retry-After), 5xx, a broken connection or an attempt
/// that took longer than <see cref="RegistryOptions.RequestTimeout"/>. The timeout is per attempt, so it lives here and
/// not on the HttpClient, whose timeout would cover all the attempts together.
/// </summary>
internal sealed class RetryHandler : DelegatingHandler
{
    private static readonly HttpStatusCode[] Transient =
        [HttpStatusCode.RequestTimeout, HttpStatusCode.TooManyRequests, HttpStatusCode.InternalServerError,
         HttpStatusCode.BadGateway, HttpStatusCode.ServiceUnavailable, HttpStatusCode.GatewayTimeout];

    private readonly RegistryOptions _options;
    private readonly ResiliencePipeline<HttpResponseMessage> _retry;

    public RetryHandler(string registry, RegistryOptions options, IBuildLog log)
    {
        _options = options;
        _retry = new ResiliencePipelineBuilder<HttpResponseMessage>()
            .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryBaseDelay,
                MaxDelay = options.MaxRetryAfter,
                ShouldHandle = new PredicateBuilder<HttpResponseMessage>()
                    // A TLS handshake that failed fails again; the scheme handler decides what that means.
                    .Handle<HttpRequestException>(ex => ex.InnerException is not AuthenticationException)
                    .Handle<IOException>()
                    .Handle<OperationCanceledException>()
                    .HandleResult(r => Transient.Contains(r.StatusCode)),
                DelayGenerator = args =>
                {
                    var retryAfter = args.Outcome.Result?.Headers.RetryAfter;
                    var delay = retryAfter?.Delta ?? (retryAfter?.Date - DateTimeOffset.UtcNow);
                    return ValueTask.FromResult(delay is { } d && d > TimeSpan.Zero ? (TimeSpan?)(d < options.MaxRetryAfter ? d : options.MaxRetryAfter) : null);
                },
                OnRetry = args =>
                {
                    var why = args.Outcome.Result is { } r ? $"{(int)r.StatusCode} {r.ReasonPhrase}" : args.Outcome.Exception?.Message;
                    log.Detail($"{registry}: retrying after {why} (attempt {args.AttemptNumber + 2} of {options.MaxRetries + 1}, in {args.RetryDelay.TotalSeconds:F1} s)");
                    args.Outcome.Result?.Dispose();
                    return default;
                },
            })
            .Build();
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        // The caller's cancellation ends the retries (Polly checks its token); an attempt's own timeout is retried.
        return await _retry.ExecuteAsync(async token =>
        {
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(token);
            attempt.CancelAfter(_options.RequestTimeout);
            return await base.SendAsync(request, attempt.Token).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }
}
