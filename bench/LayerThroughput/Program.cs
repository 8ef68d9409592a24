using System.Diagnostics;
using Sdk.Containers.Layers;
using Sdk.Containers.Storage;

// Measures the one-pass layer writer (tar + sha256 + gzip + sha256) on a folder of real binaries, and prints MB/s as
// the median of several runs next to sha256sum and gzip on the same tar, to show how near the machine's limit it runs.
// Usage: LayerThroughput [SOURCE-DIR] [MEGABYTES] [RUNS]
var source = args.Length > 0 && args[0] != "-" ? args[0] : Path.GetDirectoryName(typeof(object).Assembly.Location)!;
var megabytes = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 100;
var runs = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 5;

var work = Path.Combine(Path.GetTempPath(), "sdkc-bench-" + Guid.NewGuid().ToString("N")[..8]);
var folder = Path.Combine(work, "app");
var bytes = FillFolder(source, folder, megabytes * 1024L * 1024);
Console.WriteLine($"Input: {bytes / 1e6:F1} MB in {Directory.GetFiles(folder, "*", SearchOption.AllDirectories).Length} files (copied from {source})");

var settings = (Environment.GetEnvironmentVariable("BENCH_COMPRESSION") ?? "gzip:1,gzip:2,gzip:3,gzip:4,gzip:6,zstd:1,zstd:3").Split(',');
foreach (var setting in settings.Select(LayerCompressionSetting.Parse))
{
    var times = new List<double>();
    Layer? layer = null;
    for (var i = 0; i < runs; i++)
    {
        var store = new BlobStore(Path.Combine(work, $"store-{setting.Algorithm}-{setting.Level}-{i}"));
        var clock = Stopwatch.StartNew();
        layer = await new LayerWriter(store).WriteAsync(LayerPlan.FromDirectory(folder, "/app", "bench"), new LayerWriterOptions { Compression = setting }, CancellationToken.None);
        times.Add(clock.Elapsed.TotalSeconds);
        Directory.Delete(store.Root, recursive: true);
    }

    var median = times.Order().ElementAt(times.Count / 2);
    Console.WriteLine($"LayerWriter {setting,-8}: median {median:F2} s, {bytes / 1e6 / median:F0} MB/s (compressed to {layer!.Descriptor.Size / 1e6:F1} MB)");
}

var tar = Path.Combine(work, "app.tar");
Shell($"tar -C {folder} -cf {tar} .");
foreach (var (name, command) in new[] { ("sha256sum", $"sha256sum {tar} > /dev/null"), ("gzip -1", $"gzip -1 -c {tar} > /dev/null"), ("gzip -6", $"gzip -6 -c {tar} > /dev/null"), ("pigz -1", $"pigz -1 -c {tar} > /dev/null") })
{
    var times = new List<double>();
    for (var i = 0; i < runs; i++)
    {
        var clock = Stopwatch.StartNew();
        if (!Shell(command))
        {
            break;
        }

        times.Add(clock.Elapsed.TotalSeconds);
    }

    if (times.Count > 0)
    {
        var median = times.Order().ElementAt(times.Count / 2);
        Console.WriteLine($"{name,-22} median {median:F2} s, {bytes / 1e6 / median:F0} MB/s");
    }
}

Directory.Delete(work, recursive: true);

static long FillFolder(string source, string target, long wanted)
{
    long total = 0;
    for (var round = 0; total < wanted; round++)
    {
        var files = Directory.GetFiles(source, "*", SearchOption.AllDirectories);
        if (files.Length == 0)
        {
            throw new InvalidOperationException($"{source} has no files to copy.");
        }

        foreach (var file in files)
        {
            var destination = Path.Combine(target, $"r{round}", Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            File.Copy(file, destination);
            total += new FileInfo(destination).Length;
            if (total >= wanted)
            {
                break;
            }
        }
    }

    return total;
}

static bool Shell(string command)
{
    using var process = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", command]) { RedirectStandardError = true })!;
    process.WaitForExit();
    return process.ExitCode == 0;
}
