using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Sdk.Containers.Digests;
using Sdk.Containers.Registry;

namespace Sdk.Containers.Tests;

/// <summary>The auth handler and its token cache, against an in-process registry whose tokens expire after some uses.</summary>
public class RegistryAuthTests
{
    private const string Password = "p4ss-must-not-show";

    /// <summary>
    /// A registry and its token service in one fake handler: every request but the ping and the token service needs
    /// the newest token, which is refused after <see cref="Uses"/> uses. Token answers wait for <see cref="TokenGate"/>.
    /// </summary>
    private sealed class FakeRegistry : HttpMessageHandler
    {
        private readonly ConcurrentDictionary<string, int> _uses = new();
        private int _issued;

        public int Uses { get; init; } = int.MaxValue;

        public bool RefuseEveryToken { get; init; }

        public TaskCompletionSource TokenGate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Fetches;

        public int Expired;

        public ConcurrentQueue<string> Authorizations { get; } = new();

        private static HttpResponseMessage Challenge()
        {
            var response = new HttpResponseMessage(HttpStatusCode.Unauthorized);
            response.Headers.WwwAuthenticate.ParseAdd("Bearer realm=\"https://auth.test/token\",service=\"registry.test\"");
            return response;
        }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var authorization = request.Headers.Authorization?.ToString() ?? string.Empty;
            Authorizations.Enqueue(authorization);
            if (request.RequestUri!.Host == "auth.test")
            {
                Interlocked.Increment(ref Fetches);
                await TokenGate.Task.WaitAsync(cancellationToken);
                if (authorization != "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"me:{Password}")))
                {
                    return new HttpResponseMessage(HttpStatusCode.Unauthorized);
                }

                var token = $"token-{Interlocked.Increment(ref _issued)}";
                return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent($"{{\"token\":\"{token}\"}}") };
            }

            await Task.Yield();
            if (request.RequestUri.AbsolutePath == "/v2/" || !authorization.StartsWith("Bearer ", StringComparison.Ordinal) || RefuseEveryToken)
            {
                return Challenge();
            }

            var uses = _uses.AddOrUpdate(authorization, 1, (_, n) => n + 1);
            if (uses > Uses)
            {
                if (uses == Uses + 1)
                {
                    Interlocked.Increment(ref Expired);
                }

                return Challenge();
            }

            return new HttpResponseMessage(HttpStatusCode.OK);
        }
    }

    private static RegistryApi Api(FakeRegistry registry)
        => new("registry.test", new RegistryOptions { RetryBaseDelay = TimeSpan.FromMilliseconds(1) }, new CredentialResolver(name => name switch
        {
            "SDK_CONTAINER_REGISTRY_UNAME" => "me",
            "SDK_CONTAINER_REGISTRY_PWORD" => Password,
            _ => null,
        }), handler: registry);

    private static readonly Digest Blob = Digest.Compute("blob"u8);

    [Fact]
    public async Task ConcurrentRequestsShareOneTokenFetchAndEachExpiryIsReplacedOnce()
    {
        // 32 requesters, 8 requests each in turn, through tokens good for 40 uses: several expire mid-way.
        var registry = new FakeRegistry { Uses = 40 };
        using var api = Api(registry);
        var repository = api.ForPush("app");
        var workers = Enumerable.Range(0, 32).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < 8; i++)
            {
                Assert.True(await repository.Blobs.ExistsAsync(Blob, CancellationToken.None));
            }
        })).ToArray();

        // Held, so the first requests all wait for the one fetch.
        while (registry.Fetches == 0)
        {
            await Task.Delay(1);
        }

        await Task.Delay(50);
        registry.TokenGate.SetResult();
        await Task.WhenAll(workers);

        Assert.True(registry.Expired >= 5, $"{registry.Expired} tokens expired");
        Assert.Equal(1 + registry.Expired, registry.Fetches);
        Assert.DoesNotContain(registry.Authorizations, a => a.Contains(Password, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ATokenRefusedBeforeItEverWorkedIsTheRegistrysAnswerNamingTheSourceNotTheSecret()
    {
        var registry = new FakeRegistry { RefuseEveryToken = true };
        registry.TokenGate.SetResult();
        using var api = Api(registry);
        var ex = await Assert.ThrowsAsync<ContainerException>(() => api.ForPull("app").Blobs.ExistsAsync(Blob, CancellationToken.None));
        Assert.Equal(ErrorCodes.Unauthorized, ex.Code);
        Assert.Contains("refused the credentials from the environment variables SDK_CONTAINER_REGISTRY_UNAME and SDK_CONTAINER_REGISTRY_PWORD for app:pull", ex.Message);
        Assert.DoesNotContain(Password, ex.Message);

        // The first token is refused, one more is fetched for the refusal, and its refusal is final.
        Assert.Equal(2, registry.Fetches);
    }

    [Fact]
    public async Task TheTokenCacheFetchesOnceForEveryoneRefusedTheSameToken()
    {
        var cache = new TokenCache();
        var fetches = 0;
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        async Task<string> Fetch(CancellationToken token)
        {
            var n = Interlocked.Increment(ref fetches);
            await gate.Task.WaitAsync(token);
            return $"t{n}";
        }

        var first = await cache.GetAsync("s", _ => Task.FromResult("t0"), CancellationToken.None);

        // Fifty requests refused t0 while the one fetch for it is held: all of them get its token.
        var refreshed = Enumerable.Range(0, 50).Select(_ => Task.Run(() => cache.RefreshAsync("s", first, Fetch, CancellationToken.None))).ToArray();
        while (fetches == 0)
        {
            await Task.Delay(1);
        }

        await Task.Delay(50);
        gate.SetResult();
        var tokens = await Task.WhenAll(refreshed);
        Assert.All(tokens, t => Assert.Equal("t1", t.Value));
        Assert.Equal(1, fetches);

        // A refusal of a token already replaced takes the newer one without a fetch; a refusal of the newest fetches.
        Assert.Equal("t1", (await cache.RefreshAsync("s", first, Fetch, CancellationToken.None)).Value);
        Assert.Equal(1, fetches);
        Assert.Equal("t2", (await cache.RefreshAsync("s", tokens[0], Fetch, CancellationToken.None)).Value);
        Assert.Equal(2, fetches);
    }

    [Fact]
    public async Task AFetchCancelledByItsRequestIsStartedAgainForTheNextOne()
    {
        var cache = new TokenCache();
        using var cancelled = new CancellationTokenSource();
        var hang = new TaskCompletionSource<string>();
        var waiting = cache.GetAsync("s", token => hang.Task.WaitAsync(token), cancelled.Token);
        var other = cache.GetAsync("s", _ => Task.FromResult("second"), CancellationToken.None);
        cancelled.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        Assert.Equal("second", (await other).Value);
    }
}
