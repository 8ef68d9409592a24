using System.Diagnostics;
using Sdk.Containers.Archives;
using Sdk.Containers.Images;
using Sdk.Containers.References;

namespace Sdk.Containers.Daemons;

/// <summary>
/// A local Docker or Podman engine, reached through its own CLI so DOCKER_HOST, the docker context and Podman's
/// configuration all apply as they do for the user. Images are streamed into `load` with no file in between.
/// </summary>
public sealed partial class LocalDaemon
{
    private LocalDaemon(string command)
    {
        Command = command;
    }

    /// <summary>docker or podman.</summary>
    public string Command { get; }

    /// <summary>
    /// The engine to load into: <paramref name="preferred"/> (LocalRegistry: Docker or Podman) when it answers,
    /// else, with none preferred, Docker then Podman, as the SDK detects them. Null when none answers.
    /// </summary>
    /// <param name="image">With <paramref name="names"/>: the image about to be loaded. The engine is then asked for
    /// those names first, which tells both that it answers and whether it has the image already, in one call.</param>
    public static async Task<LocalDaemon?> DetectAsync(string? preferred, IBuildLog log, CancellationToken cancellationToken, Image? image = null, IReadOnlyList<ImageReference>? names = null)
    {
        string[] candidates = preferred?.Trim().ToLowerInvariant() switch
        {
            null or "" => ["docker", "podman"],
            "docker" => ["docker"],
            "podman" => ["podman"],
            _ => throw new ContainerException(ErrorCodes.InvalidLocalRegistry, $"LocalRegistry is '{preferred}'; it must be Docker or Podman."),
        };

        var repoTags = RepoTags(names ?? []);
        foreach (var command in candidates)
        {
            if (image is not null && repoTags.Length > 0)
            {
                var (inspectExit, ids) = await RunAsync(command, ["image", "inspect", "--format", "{{.Id}}", .. repoTags], stdin: null, TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
                var answered = inspectExit == 0 || IsNoSuchImage(ids);
                if (answered)
                {
                    log.Detail($"Using the {command} engine");
                    return new LocalDaemon(command) { _has = (image.ConfigDigest, inspectExit == 0 && AllAre(ids, image, repoTags.Length)) };
                }
            }

            var (exitCode, output) = await RunAsync(command, ["version", "--format", "{{.Server.Version}}"], stdin: null, TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
            if (exitCode == 0)
            {
                log.Detail($"Using the {command} engine {output.Trim()}");
                return new LocalDaemon(command);
            }

            log.Detail($"{command} is not available: {FirstLine(output)}");
        }

        return null;
    }

    // What detection learnt of the image it was asked about: (its config digest, whether every name points at it).
    private (Digests.Digest Image, bool Has)? _has;

    /// <returns>False when the engine already had the image under every name, so nothing was sent.</returns>
    public async Task<bool> LoadAsync(Image image, IReadOnlyList<ImageReference> names, DateTimeOffset timestamp, CancellationToken cancellationToken)
    {
        var repoTags = RepoTags(names);
        var known = _has is { } has && has.Image == image.ConfigDigest ? has.Has : (bool?)null;
        if (known == true || (known is null && repoTags.Length > 0 && await HasAsync(image, repoTags, cancellationToken).ConfigureAwait(false)))
        {
            return false;
        }

        var (exitCode, output) = await RunAsync(Command, ["load"], stdin: stream => DockerArchiveWriter.WriteToAsync(image, names, stream, timestamp, cancellationToken), TimeSpan.FromMinutes(30), cancellationToken).ConfigureAwait(false);
        if (exitCode != 0)
        {
            throw new ContainerException(ErrorCodes.EngineLoadFailed, $"`{Command} load` failed with exit code {exitCode}: {FirstLine(output)}");
        }

        return true;
    }

    /// <summary>Whether every name already points at this image (its ID is the config digest): a load would change
    /// nothing, yet the engine would read and hash every layer to find that out.</summary>
    private async Task<bool> HasAsync(Image image, string[] repoTags, CancellationToken cancellationToken)
    {
        var (exitCode, output) = await RunAsync(Command, ["image", "inspect", "--format", "{{.Id}}", .. repoTags], null, TimeSpan.FromMinutes(1), cancellationToken).ConfigureAwait(false);
        return exitCode == 0 && AllAre(output, image, repoTags.Length);
    }

    private static string[] RepoTags(IReadOnlyList<ImageReference> names) => names.Select(n => n.RepoTag).OfType<string>().Distinct(StringComparer.Ordinal).ToArray();

    private static bool AllAre(string output, Image image, int count)
    {
        var ids = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        // Docker's classic store names an image by its config digest, Podman by the digest's hex, Docker's containerd
        // store by the manifest's digest.
        string[] known = [image.ConfigDigest.ToString(), image.ConfigDigest.Hex, image.ManifestDigest.ToString()];
        return ids.Length == count && ids.All(known.Contains);
    }

    // Docker says "No such image", Podman "image not known": either way the engine answered.
    private static bool IsNoSuchImage(string output)
        => output.Contains("No such image", StringComparison.OrdinalIgnoreCase) || output.Contains("image not known", StringComparison.OrdinalIgnoreCase);

    // Podman may log a line of its own (time="…" level=info …) before the error that says what failed.
    private static string FirstLine(string text)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.FirstOrDefault(l => l.Contains("error", StringComparison.OrdinalIgnoreCase)) ?? lines.FirstOrDefault() ?? "no output";
    }

    /// <param name="stdout">When given, reads standard output as it comes (the rest is drained after it returns), and
    /// the output returned is standard error alone.</param>
    private static async Task<(int ExitCode, string Output)> RunAsync(string command, string[] arguments, Func<Stream, Task>? stdin, TimeSpan timeout, CancellationToken cancellationToken, Func<Stream, Task>? stdout = null)
    {
        var info = new ProcessStartInfo(command)
        {
            RedirectStandardInput = stdin is not null,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(info)!;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return (127, $"{command} is not on PATH");
        }

        using (process)
        using (var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            timeoutSource.CancelAfter(timeout);
            var output = stdout is null ? process.StandardOutput.ReadToEndAsync(timeoutSource.Token) : ReadAndDrainAsync(process.StandardOutput.BaseStream, stdout, timeoutSource.Token);
            var stderr = process.StandardError.ReadToEndAsync(timeoutSource.Token);
            try
            {
                if (stdin is not null)
                {
                    try
                    {
                        await stdin(process.StandardInput.BaseStream).ConfigureAwait(false);
                    }
                    catch (IOException)
                    {
                        // The engine stopped reading (it failed); its exit code and message say why.
                    }
                    finally
                    {
                        process.StandardInput.Close();
                    }
                }

                await process.WaitForExitAsync(timeoutSource.Token).ConfigureAwait(false);
                return (process.ExitCode, (await output.ConfigureAwait(false)) + (await stderr.ConfigureAwait(false)));
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                process.Kill(entireProcessTree: true);
                return (124, $"{command} {string.Join(' ', arguments)} did not finish within {timeout.TotalSeconds:F0} s");
            }
            finally
            {
                // Cancelled by the caller: the engine's command must not outlive the build.
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                }
            }
        }
    }

    // The reader may stop before the end (a tar ends with padding it does not read, or the reader failed): the command
    // must still write the rest and exit, so that its exit code says whether it failed.
    private static async Task<string> ReadAndDrainAsync(Stream stream, Func<Stream, Task> read, CancellationToken cancellationToken)
    {
        try
        {
            await read(stream).ConfigureAwait(false);
        }
        finally
        {
            await stream.CopyToAsync(Stream.Null, cancellationToken).ConfigureAwait(false);
        }

        return string.Empty;
    }
}
