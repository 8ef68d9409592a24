using System.Diagnostics;
using System.Text;

namespace Sdk.Containers.Integration;

/// <summary>
/// Dockerfile builds stopped half-way (SIGKILL during a RUN and during an unpack, SIGTERM during a RUN): nothing of
/// theirs is used later or left behind once the next build has run; SIGTERM stops, cleans up and says so.
/// </summary>
[Collection(EnvironmentCollection.Name)]
public sealed class InterruptedBuildTests(TestEnvironment env)
{
    private const string RuncState = "/run/sdk-containers-runc";

    /// <summary>The CLI's build, started; returns once a line of its output satisfies <paramref name="ready"/>.</summary>
    private static async Task<(Process Process, StringBuilder Output)> StartAsync(string context, string cache, Func<string, bool> ready, params string[] extra)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        string[] arguments = [TestEnvironment.CliPath, "build", context, "--cache", cache, "--progress", "plain", .. extra];
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        var process = Process.Start(info)!;
        var output = new StringBuilder();
        var seen = new TaskCompletionSource();
        void OnLine(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (output)
            {
                output.AppendLine(line);
            }

            if (ready(line))
            {
                seen.TrySetResult();
            }
        }

        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var finished = process.WaitForExitAsync();
        if (await Task.WhenAny(seen.Task, finished, Task.Delay(TimeSpan.FromMinutes(5))) != seen.Task)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"the build did not reach the point to interrupt; its output:\n{output}");
        }

        return (process, output);
    }

    private static string Context(TempDirectory work, string dockerfile)
    {
        work.WriteFile("context/Dockerfile", dockerfile);
        return work.Combine("context");
    }

    /// <summary>Nothing of any build is left: no workspace, no mount under the cache, no runc container of ours, no
    /// snapshot without its chain file (one half-made).</summary>
    private static void AssertNothingLeft(string cache)
    {
        var builds = Path.Combine(cache, "builds");
        Assert.True(!Directory.Exists(builds) || !Directory.EnumerateFileSystemEntries(builds).Any(), $"left in {builds}: {string.Join(", ", Directory.Exists(builds) ? Directory.EnumerateFileSystemEntries(builds) : [])}");
        var mounts = File.ReadAllLines("/proc/self/mountinfo").Where(l => l.Split(' ')[4].StartsWith(cache, StringComparison.Ordinal)).ToList();
        Assert.True(mounts.Count == 0, $"mounts left under the cache:\n{string.Join('\n', mounts)}");
        var containers = Directory.Exists(RuncState) ? Directory.EnumerateDirectories(RuncState, "sdkc-*").ToList() : [];
        Assert.True(containers.Count == 0, $"runc containers left: {string.Join(", ", containers)}");
        var snapshots = Path.Combine(cache, "snapshots");
        if (Directory.Exists(snapshots))
        {
            foreach (var snapshot in Directory.EnumerateDirectories(snapshots))
            {
                Assert.True(File.Exists(Path.Combine(snapshot, "chain")), $"{snapshot} is a snapshot without its chain file");
            }
        }
    }

    private static bool SleepRunning(string marker)
        => Directory.EnumerateDirectories("/proc").Any(d => File.Exists(Path.Combine(d, "cmdline")) && Read(Path.Combine(d, "cmdline")).Replace('\0', ' ').Contains(marker, StringComparison.Ordinal));

    private static string Read(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException)
        {
            return string.Empty;
        }
    }

    [Fact]
    public async Task SigkillDuringARunLeavesNothingTheNextBuildUsesOrKeeps()
    {
        env.Require();
        using var work = new TempDirectory();
        var nap = "4242";
        var context = Context(work, $"FROM oci:{env.BaseLayout}:runtime-deps\nRUN echo before > /before\nARG NAP=1\nRUN echo started-the-nap && sleep $NAP && echo late > /late\n");
        var cache = work.Combine("cache");
        var (process, _) = await StartAsync(context, cache, line => line.EndsWith("] started-the-nap", StringComparison.Ordinal) /* the command's output, not the step line that shows it */, "--build-arg", $"NAP={nap}");
        process.Kill(); // SIGKILL, to the CLI alone: its runc container and mounts stay, as after a real crash
        await process.WaitForExitAsync();

        // The echo comes just before the sleep starts: give it a moment (bounded, not a timing assertion).
        for (var i = 0; i < 100 && !SleepRunning($"sleep {nap}"); i++)
        {
            await Task.Delay(100);
        }

        Assert.True(SleepRunning($"sleep {nap}"), "the RUN's command was not running when the build was killed; nothing was tested");

        var next = TestEnvironment.Cli(["build", context, "--cache", cache, "--progress", "plain", "--build-arg", "NAP=0", "-o", $"type=oci,dest={work.Combine("out.tar")}"]).AssertSuccess();
        Assert.Contains("Removing what an interrupted build left", next.Output);
        Assert.Contains("CACHED RUN echo before", next.Output); // the step the killed build finished is reused
        Assert.False(SleepRunning($"sleep {nap}"), "the killed build's command is still running");
        AssertNothingLeft(cache);
    }

    [Fact]
    public async Task SigkillDuringAnUnpackLeavesNoHalfMadeSnapshot()
    {
        env.Require();
        using var work = new TempDirectory();
        var context = Context(work, $"FROM oci:{env.BaseLayout}:sdk\nRUN test -x /usr/share/dotnet/dotnet && echo sdk-is-whole\n");
        var cache = work.Combine("cache");
        var extracting = 0;

        // The SDK's fourth layer is hundreds of megabytes: killed as its unpack starts, it is mid-way.
        var (process, _) = await StartAsync(context, cache, line => line.StartsWith("extracting", StringComparison.Ordinal) && Interlocked.Increment(ref extracting) == 4);
        process.Kill();
        await process.WaitForExitAsync();
        var builds = Directory.EnumerateDirectories(Path.Combine(cache, "builds")).ToList();
        Assert.True(builds.Count == 1 && Directory.EnumerateDirectories(builds[0], "unpack-*").Any(), "no unpack was under way when the build was killed; nothing was tested");
        Assert.Equal(3, Directory.EnumerateDirectories(Path.Combine(cache, "snapshots")).Count());

        var next = TestEnvironment.Cli(["build", context, "--cache", cache, "--progress", "plain", "-o", $"type=oci,dest={work.Combine("out.tar")}"], new Dictionary<string, string> { ["SDK_CONTAINERS_VERBOSE"] = "1" }).AssertSuccess();
        Assert.Contains("sdk-is-whole", next.Output);
        Assert.Contains("1 layers unpacked", next.Output); // only the one the killed build had not finished
        AssertNothingLeft(cache);
    }

    [Fact]
    public async Task SigtermStopsTheRunCleansUpAndSaysSo()
    {
        env.Require();
        using var work = new TempDirectory();
        var nap = "4343";
        var context = Context(work, $"FROM oci:{env.BaseLayout}:runtime-deps\nRUN echo started-the-nap && sleep {nap}\n");
        var cache = work.Combine("cache");
        var (process, output) = await StartAsync(context, cache, line => line.EndsWith("] started-the-nap", StringComparison.Ordinal) /* the command's output, not the step line that shows it */);
        TestEnvironment.Run("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]).AssertSuccess();
        var exited = process.WaitForExitAsync();
        Assert.True(await Task.WhenAny(exited, Task.Delay(TimeSpan.FromMinutes(2))) == exited, "the build did not stop after SIGTERM");
        Assert.Equal(143, process.ExitCode);
        var text = output.ToString();
        Assert.Contains("SIGTERM: stopping", text);
        Assert.Contains("cancelled", text);
        Assert.DoesNotContain("   at ", text); // no stack trace
        Assert.False(SleepRunning($"sleep {nap}"), "the RUN's command is still running");
        AssertNothingLeft(cache);
    }

    [Fact]
    public void PruneRemovesSnapshotsBlobsAndRecordsButNotWhileABuildUsesThem()
    {
        env.Require();
        using var work = new TempDirectory();
        var context = Context(work, $"FROM oci:{env.BaseLayout}:runtime-deps\nRUN echo pruned > /p\n");
        var cache = work.Combine("cache");
        TestEnvironment.Cli(["build", context, "--cache", cache]).AssertSuccess();
        var snapshots = Path.Combine(cache, "snapshots");
        Assert.NotEmpty(Directory.EnumerateDirectories(snapshots));

        // A build holds the store shared while it runs; prune needs it alone.
        using (new FileStream(Path.Combine(snapshots, ".lock"), FileMode.OpenOrCreate, FileAccess.Read, FileShare.ReadWrite))
        {
            var refused = TestEnvironment.Cli(["prune", "--all", "--cache", cache]);
            Assert.Equal(1, refused.ExitCode);
            Assert.Contains("CONTAINER3025", refused.Output);
            Assert.NotEmpty(Directory.EnumerateDirectories(snapshots));
        }

        // A blob store's hold (every build takes one, Dockerfile or publish) refuses it too.
        using (new FileStream(Path.Combine(cache, ".lock"), FileMode.OpenOrCreate, FileAccess.Read, FileShare.ReadWrite))
        {
            var refused = TestEnvironment.Cli(["prune", "--all", "--cache", cache]);
            Assert.Equal(1, refused.ExitCode);
            Assert.Contains("CONTAINER3025", refused.Output);
        }

        // Without flags: nothing used this week goes.
        var week = TestEnvironment.Cli(["prune", "--cache", cache]).AssertSuccess();
        Assert.Contains("Removed 0 of 2 snapshots (0.0 MB) and 0 of ", week.Output);

        Assert.NotEmpty(Directory.EnumerateFiles(Path.Combine(cache, "index"), "*", SearchOption.AllDirectories));
        var pruned = TestEnvironment.Cli(["prune", "--keep-storage", "0", "--cache", cache]).AssertSuccess();
        Assert.Contains("Removed 2 of 2 snapshots", pruned.Output);
        Assert.Contains("0.0 MB kept", pruned.Output);
        Assert.Empty(Directory.EnumerateDirectories(snapshots));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(cache, "blobs"), "*", SearchOption.AllDirectories));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(cache, "index"), "*", SearchOption.AllDirectories)); // records and layer scans too

        // Nothing of the cache is left: the next build starts over (the step runs, the base is unpacked again).
        var again = TestEnvironment.Cli(["build", context, "--cache", cache], new Dictionary<string, string> { ["SDK_CONTAINERS_VERBOSE"] = "1" }).AssertSuccess();
        Assert.Contains("1 steps run, 0 from the cache", again.Output);
        Assert.Contains("1 layers unpacked", again.Output);
        AssertNothingLeft(cache);
    }
}
