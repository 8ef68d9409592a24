using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using Sdk.Containers.Publishing;

namespace Sdk.Containers.Tasks;

/// <summary>
/// Runs the image work in the packed NativeAOT worker: in a cold MSBuild process the code a build runs once (HTTP,
/// TLS, JSON, SBOMs) is compiled just in time for every build. The worker inherits the environment (registry
/// credentials come from the same places), gets the request on standard input and answers with
/// <see cref="PublishWorkerMessage"/> lines, which are logged here as the in-process build logs them.
/// </summary>
internal sealed class PublishWorker(string path)
{
    /// <summary>SDK_CONTAINERS_WORKER=false makes the task do the work in MSBuild's process.</summary>
    public const string Switch = "SDK_CONTAINERS_WORKER";

    private const int StandardErrorKept = 4096;

    private static readonly TimeSpan CancelGrace = TimeSpan.FromSeconds(30);

    public string Path { get; } = path;

    /// <summary>The worker packed next to the task assemblies for this platform, when there is one and it may run.</summary>
    public static PublishWorker? Find(TaskLoggingHelper log)
    {
        if (Environment.GetEnvironmentVariable(Switch) is { } value && (value.Equals("false", StringComparison.OrdinalIgnoreCase) || value == "0"))
        {
            log.LogMessage(MessageImportance.Low, $"{Switch}={value}: the image is built in MSBuild's process.");
            return null;
        }

        // linux-x64 and not linux-musl-x64: the worker is linked against glibc.
        if (!OperatingSystem.IsLinux() || RuntimeInformation.RuntimeIdentifier != "linux-x64")
        {
            return null;
        }

        var path = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(typeof(PublishWorker).Assembly.Location)!, "linux-x64", "sdk-containers-worker");
        if (!File.Exists(path))
        {
            return null;
        }

        // NuGet does not keep file modes when it extracts a package.
        const UnixFileMode execute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        try
        {
            var mode = File.GetUnixFileMode(path);
            if ((mode & UnixFileMode.UserExecute) == 0)
            {
                File.SetUnixFileMode(path, mode | execute);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            log.LogMessage(MessageImportance.Low, $"The publish worker {path} cannot be made executable ({ex.Message}); the image is built in MSBuild's process.");
            return null;
        }

        return new PublishWorker(path);
    }

    /// <summary>
    /// Runs one request: errors are logged with their codes, the image is returned when it was built. False when the
    /// worker could not run here at all (it did not start, or ended before it said anything: a system it was not
    /// linked for, a file system that does not execute), so the caller does the work itself.
    /// </summary>
    public bool TryRun(PublishWorkerRequest request, TaskLoggingHelper log, IBuildLog buildLog, Action<string, string> logError, CancellationToken cancellationToken, out PublishedImage? image)
    {
        image = null;
        var start = new ProcessStartInfo(Path)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Environment.CurrentDirectory,
            StandardOutputEncoding = new UTF8Encoding(false),
            StandardErrorEncoding = new UTF8Encoding(false),
            StandardInputEncoding = new UTF8Encoding(false),
        };
        var clock = Stopwatch.StartNew();
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new Win32Exception("no process");
        }
        catch (Win32Exception ex)
        {
            log.LogMessage(MessageImportance.Low, $"The publish worker {Path} did not start ({ex.Message}); the image is built in MSBuild's process.");
            return false;
        }

        using var started = process;
        log.LogMessage(MessageImportance.Low, $"Image work in the publish worker {Path} (process {process.Id}), started in {clock.ElapsedMilliseconds} ms.");
        var standardError = new StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (standardError)
                {
                    standardError.AppendLine(e.Data);
                    if (standardError.Length > StandardErrorKept)
                    {
                        standardError.Remove(0, standardError.Length - StandardErrorKept);
                    }
                }
            }
        };
        process.BeginErrorReadLine();

        try
        {
            process.StandardInput.WriteLine(PublishWorkerJson.Serialize(request));
            process.StandardInput.Flush();
        }
        catch (IOException)
        {
            // The worker is gone already; what it said, if anything, is read below.
        }

        // Closing standard input is how the worker learns of a cancel; it then stops and removes what it began. One
        // that does not end within the grace period is killed, so that MSBuild's cancel never hangs on it.
        using var onCancel = cancellationToken.Register(() =>
        {
            try
            {
                process.StandardInput.Close();
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
            {
            }

            _ = System.Threading.Tasks.Task.Delay(CancelGrace).ContinueWith(_ =>
            {
                try
                {
                    process.Kill(entireProcessTree: true);
                }
                catch (Exception ex) when (ex is InvalidOperationException or Win32Exception or ObjectDisposedException)
                {
                }
            }, TaskScheduler.Default);
        });

        var said = false;
        var ended = false;
        while (process.StandardOutput.ReadLine() is { } line)
        {
            var message = PublishWorkerJson.TryParseMessage(line);
            said |= message is not null;
            switch (message)
            {
                case { Kind: WorkerMessageKind.Info, Text: { } text }:
                    buildLog.Info(text);
                    break;
                case { Kind: WorkerMessageKind.Warning, Code: { } code, Text: { } text }:
                    buildLog.Warning(code, text);
                    break;
                case { Kind: WorkerMessageKind.Error, Code: { } code, Text: { } text }:
                    logError(code, text);
                    ended = true;
                    break;
                case { Kind: WorkerMessageKind.Result, Result: { } result }:
                    image = result;
                    ended = true;
                    break;
                case { Text: { } text }:
                    buildLog.Detail(text);
                    break;
                default:
                    buildLog.Detail(line);
                    break;
            }
        }

        var answered = clock.ElapsedMilliseconds;
        process.WaitForExit();
        string tail;
        lock (standardError)
        {
            tail = standardError.ToString().Trim();
        }

        log.LogMessage(MessageImportance.Low, $"The publish worker answered after {answered} ms and exited after {clock.ElapsedMilliseconds} ms with code {process.ExitCode}.{(tail.Length == 0 ? string.Empty : $" Its standard error: {tail}")}");
        if (ended)
        {
            return true;
        }

        if (cancellationToken.IsCancellationRequested)
        {
            logError(BuildFailure.Cancelled.Code, BuildFailure.Cancelled.Message);
            return true;
        }

        if (!said)
        {
            log.LogMessage(MessageImportance.Low, $"The publish worker {Path} ended (code {process.ExitCode}) before it said anything; the image is built in MSBuild's process.");
            return false;
        }

        logError(ErrorCodes.Unexpected, $"The publish worker {Path} ended with exit code {process.ExitCode} and no result{(tail.Length == 0 ? "." : $": {tail}")} Set {Switch}=false to build the image in MSBuild's process.");
        return true;
    }
}
