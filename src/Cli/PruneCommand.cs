using System.CommandLine;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Cli;

/// <summary>
/// `prune`: as `docker builder prune`, for the whole cache: the snapshot store, the blob store with its records and
/// layer scans, and what interrupted builds left. Least recently used goes first, snapshots and files alike.
/// </summary>
internal static class PruneCommand
{
    public static Command Create()
    {
        var all = new Option<bool>("--all", "-a") { Description = "Remove everything, not only what was unused for a week." };
        var keep = new Option<string?>("--keep-storage") { Description = "Remove least recently used snapshots, blobs and records until the cache takes at most SIZE (bytes, or with KB, MB, GB)." };
        var command = new Command("prune", "Remove cached snapshots, blobs and build records, and what interrupted builds left.") { all, keep };
        command.Options.Add(ImageCommandContext.Cache);
        command.SetAction((parse, token) => CliErrors.RunAsync(() =>
        {
            var store = BlobStore.CreateDefault(parse.GetValue(ImageCommandContext.Cache));
            var builds = Path.Combine(store.Root, "builds");
            if (Directory.Exists(builds))
            {
                BuildWorkspace.CleanStale(builds, Console.Error.WriteLine);
            }

            var snapshots = SnapshotStore.ForCache(store);
            using var snapshotsAlone = snapshots.TryExclusive();
            using var storeAlone = snapshotsAlone is null ? null : store.TryExclusive();
            if (storeAlone is null)
            {
                throw new ContainerException(ErrorCodes.SnapshotStoreBusy, $"A build is using the cache {store.Root}; prune when it has finished.");
            }

            var entries = snapshots.List().Select(s => new Entry(s.Directory, s.Size, s.LastUsed, Snapshot: true))
                .Concat(StoreEviction.List(store).Select(f => new Entry(f.Path, f.Size, f.LastUsed, Snapshot: false)))
                .OrderBy(e => e.LastUsed).ThenBy(e => e.Path, StringComparer.Ordinal)
                .ToList();
            var keepBytes = parse.GetValue(keep) is { } size ? ParseSize(size)
                : parse.GetValue(all) ? 0
                : entries.Where(e => e.LastUsed >= DateTime.UtcNow.AddDays(-7)).Sum(e => e.Size);

            var removed = LeastRecentlyUsed.Remove(entries, keepBytes, e => e.Size, e =>
            {
                if (e.Snapshot)
                {
                    SnapshotStore.Remove(e.Path);
                }
                else
                {
                    File.Delete(e.Path);
                }
            });
            var total = entries.Sum(e => e.Size) - removed.Sum(e => e.Size);

            StoreEviction.CleanPartials(store);
            static double Mb(IEnumerable<Entry> e) => e.Sum(x => x.Size) / 1048576.0;
            var (gone, goneFiles) = (removed.Where(e => e.Snapshot).ToList(), removed.Where(e => !e.Snapshot).ToList());
            Console.WriteLine($"Removed {gone.Count} of {entries.Count(e => e.Snapshot)} snapshots ({Mb(gone):F1} MB) and {goneFiles.Count} of {entries.Count(e => !e.Snapshot)} blobs and records ({Mb(goneFiles):F1} MB); {total / 1048576.0:F1} MB kept.");
            return Task.FromResult(0);
        }));
        return command;
    }

    private sealed record Entry(string Path, long Size, DateTime LastUsed, bool Snapshot);

    public static long ParseSize(string text) => StoreEviction.ParseSize(text, "--keep-storage");
}
