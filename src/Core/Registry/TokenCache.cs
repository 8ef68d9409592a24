using System.Collections.Concurrent;

namespace Sdk.Containers.Registry;

/// <summary>A bearer token, its generation in its scope, and whether the registry has taken it for any request yet.</summary>
internal sealed class BearerToken(string value, int generation)
{
    private volatile bool _worked;

    public string Value { get; } = value;

    public int Generation { get; } = generation;

    /// <summary>
    /// Set once a request with it was not refused. A worked token that is refused has expired; one refused before it
    /// ever worked is the registry refusing the credentials or the scope.
    /// </summary>
    public bool Worked => _worked;

    public void MarkWorked() => _worked = true;
}

/// <summary>
/// Bearer tokens per scope, shared by the parallel requests of a build. A scope has at most one fetch under way:
/// requests that need its token while it is fetched wait for that fetch, and a refused token is replaced once,
/// however many requests it refused at the same time; a refusal of a token already replaced takes the newer one.
/// </summary>
internal sealed class TokenCache
{
    private readonly ConcurrentDictionary<string, Slot> _slots = new(StringComparer.Ordinal);

    /// <summary>The scope's token, fetched when it has none (or its last fetch failed).</summary>
    public Task<BearerToken> GetAsync(string scope, Func<CancellationToken, Task<string>> fetch, CancellationToken cancellationToken)
        => ObtainAsync(scope, refused: null, fetch, cancellationToken);

    /// <summary>A token newer than <paramref name="refused"/>: the one another request fetched meanwhile, or one new fetch.</summary>
    public Task<BearerToken> RefreshAsync(string scope, BearerToken refused, Func<CancellationToken, Task<string>> fetch, CancellationToken cancellationToken)
        => ObtainAsync(scope, refused, fetch, cancellationToken);

    private async Task<BearerToken> ObtainAsync(string scope, BearerToken? refused, Func<CancellationToken, Task<string>> fetch, CancellationToken cancellationToken)
    {
        var slot = _slots.GetOrAdd(scope, _ => new Slot());
        while (true)
        {
            Task<BearerToken> task;
            TaskCompletionSource<BearerToken>? mine = null;
            var generation = 0;
            lock (slot.Gate)
            {
                var current = slot.Current;
                if (current is null || current.IsFaulted || current.IsCanceled
                    || (refused is not null && current.IsCompletedSuccessfully && current.Result.Generation <= refused.Generation))
                {
                    mine = new TaskCompletionSource<BearerToken>(TaskCreationOptions.RunContinuationsAsynchronously);
                    slot.Current = mine.Task;
                    generation = ++slot.Generation;
                }

                task = slot.Current!;
            }

            // Whoever replaced the slot's task fetches, outside the lock: a credential helper may run on the way.
            if (mine is not null)
            {
                try
                {
                    mine.SetResult(new BearerToken(await fetch(cancellationToken).ConfigureAwait(false), generation));
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    mine.SetCanceled(cancellationToken);
                }
                catch (Exception ex)
                {
                    mine.SetException(ex);
                }
            }

            try
            {
                return await task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && task.IsCanceled)
            {
                // The fetch belonged to a request that was cancelled; this one still wants a token, so it fetches.
            }
        }
    }

    private sealed class Slot
    {
        public readonly Lock Gate = new();

        public Task<BearerToken>? Current;

        public int Generation;
    }
}
