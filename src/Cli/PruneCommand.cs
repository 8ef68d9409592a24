using System.CommandLine;
using System.Globalization;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Cli;

/// <summary>`prune`: as `docker builder prune`, for the snapshot store and what interrupted builds left.</summary>
internal static class PruneCommand
{
    public static Command Create()
    {
        var all = new Option<bool>("--all", "-a") { Description = "Remove every snapshot, not only those unused for a week." };
        var keep = new Option<string?>("--keep-storage") { Description = "Remove least recently used snapshots until they take at most SIZE (bytes, or with KB, MB, GB)." };
        var command = new Command("prune", "Remove unpacked layers (snapshots) of Dockerfile builds, and what interrupted builds left.") { all, keep };
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
            using var alone = snapshots.TryExclusive()
                ?? throw new ContainerException(ErrorCodes.SnapshotStoreBusy, $"A build is using the snapshot store of {store.Root}; prune when it has finished.");
            var before = snapshots.List();
            (int Count, long Bytes) removed;
            if (parse.GetValue(keep) is { } size)
            {
                removed = snapshots.Evict(ParseSize(size));
            }
            else if (parse.GetValue(all))
            {
                removed = snapshots.Evict(0);
            }
            else
            {
                var weekAgo = DateTime.UtcNow.AddDays(-7);
                removed = snapshots.Evict(before.Where(s => s.LastUsed >= weekAgo).Sum(s => s.Size));
            }

            Console.WriteLine($"Removed {removed.Count} of {before.Count} snapshots, {removed.Bytes / 1048576.0:F1} MB; {snapshots.List().Sum(s => s.Size) / 1048576.0:F1} MB kept.");
            return Task.FromResult(0);
        }));
        return command;
    }

    public static long ParseSize(string text)
    {
        var trimmed = text.Trim().ToUpperInvariant();
        var (number, factor) = trimmed switch
        {
            _ when trimmed.EndsWith("GB", StringComparison.Ordinal) => (trimmed[..^2], 1L << 30),
            _ when trimmed.EndsWith("MB", StringComparison.Ordinal) => (trimmed[..^2], 1L << 20),
            _ when trimmed.EndsWith("KB", StringComparison.Ordinal) => (trimmed[..^2], 1L << 10),
            _ when trimmed.EndsWith('B') => (trimmed[..^1], 1L),
            _ => (trimmed, 1L),
        };
        return double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value >= 0
            ? (long)(value * factor)
            : throw new ContainerException(ErrorCodes.InvalidKeepStorage, $"--keep-storage {text}: write a size such as 10GB, 512MB or 1000000.");
    }
}
