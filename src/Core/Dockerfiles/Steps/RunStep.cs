using System.Globalization;
using Sdk.Containers.IO;
using Sdk.Containers.Progress;
using Sdk.Containers.Running;
using Sdk.Containers.Storage;
using Sdk.Containers.Unpacking;

namespace Sdk.Containers.Dockerfiles;

/// <summary>
/// RUN: the command (shell or exec form, here-documents), its environment, user, working directory, network and
/// mounts make the step's key; when it runs, runc runs it on the stage's root and the runtime's own mount points are
/// left out of the layer. A stage of another architecture is refused: there is no emulation.
/// </summary>
internal sealed class RunStep(BuildInputs inputs, BuildServices services, FromSources sources, FileStepRunner runner, IBuildProgress progress) : IStep
{
    private readonly RunMounts mountBinder = new(inputs, services, sources);

    public async Task ApplyAsync(StageState stage, DockerfileNode instruction, CancellationToken cancellationToken)
    {
        var flags = inputs.Flags(instruction, InstructionChecks.RunFlags);
        var sshMounts = 0;
        var scope = stage.Config.ExpansionScope();
        var hostNetwork = false;
        foreach (var (name, value) in flags)
        {
            switch (name)
            {
                case "network":
                    hostNetwork = InstructionChecks.HostNetwork(inputs.Expand(instruction, value, scope), problem => inputs.Error(instruction, problem, "--network"));
                    break;
                case "security":
                    InstructionChecks.Security(inputs.Expand(instruction, value, scope), problem => inputs.Error(instruction, problem, "--security"));
                    break;
            }
        }

        var workingDirectory = stage.Image.Config.WorkingDir is { Length: > 0 } wd ? wd : "/";
        var mounts = new List<RunMount>();
        foreach (var (_, value) in flags.Where(f => f.Name == "mount"))
        {
            mounts.Add(RunMount.Parse(inputs.Expand(instruction, value, scope), workingDirectory, inputs.Where(instruction), problem => inputs.Error(instruction, problem, "--mount"), ref sshMounts));
        }

        var shell = stage.Image.Config.Shell ?? ["/bin/sh", "-c"];
        var heredocScripts = new List<(string Path, string Content)>();
        IReadOnlyList<string> args;
        if (instruction.IsJson)
        {
            args = instruction.Arguments.ToList();
        }
        else
        {
            var command = instruction.Arguments.FirstOrDefault() ?? string.Empty;
            if (instruction.Heredocs.Count == 1 && IsOnlyHeredoc(command) && instruction.Heredocs[0].Content.StartsWith("#!", StringComparison.Ordinal))
            {
                // A script with its own interpreter is run as a file, as BuildKit does.
                var script = $"/dev/pipes/{instruction.Heredocs[0].Name}";
                heredocScripts.Add((script, instruction.Heredocs[0].Content));
                args = [script];
            }
            else if (instruction.Heredocs.Count == 1 && IsOnlyHeredoc(command))
            {
                args = [.. shell, instruction.Heredocs[0].Content];
            }
            else if (instruction.Heredocs.Count > 0)
            {
                // The shell reads the here-documents itself.
                args = [.. shell, command + "\n" + string.Concat(instruction.Heredocs.Select(h => h.Content + h.Name + "\n"))];
            }
            else
            {
                args = [.. shell, command];
            }
        }

        if (args.Count == 0)
        {
            throw inputs.Error(instruction, "RUN has no command.");
        }

        var env = scope.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => $"{e.Key}={e.Value}").ToList();
        if (!scope.ContainsKey("PATH"))
        {
            env.Add("PATH=" + StageState.DefaultPath);
        }

        var user = stage.Image.Config.User ?? string.Empty;
        var keyParts = new List<string> { "run", string.Join('\0', args), string.Join('\0', env), user, workingDirectory, hostNetwork ? "host" : "none" };
        foreach (var mount in mounts)
        {
            keyParts.Add($"mount:{mount}");
            if (mount.Type == "bind")
            {
                keyParts.Add(await mountBinder.BindSourceKeyAsync(stage, instruction, mount, cancellationToken).ConfigureAwait(false));
            }
        }

        // BuildKit's history names the build arguments the command saw: RUN |1 TARGETARCH=amd64 /bin/sh -c ….
        var buildArguments = stage.Config.StageArguments.Where(a => !stage.Image.Environment.Any(e => e.StartsWith(a.Key + "=", StringComparison.Ordinal))).Select(a => $"{a.Key}={a.Value}").ToList();
        var createdBy = $"RUN {(buildArguments.Count > 0 ? $"|{buildArguments.Count} {string.Join(' ', buildArguments)} " : string.Empty)}{string.Join(' ', args)} # buildkit";
        var shown = "RUN " + ExpandForDisplay(instruction.IsJson ? string.Join(' ', args) : instruction.Arguments.FirstOrDefault() ?? string.Empty, scope);
        await runner.RunAsync(stage, new FileChange(instruction, createdBy, shown, keyParts, HistoryAdded: false, async (step, ct) =>
        {
            var rootfs = step.Path;
            var runtime = services.Runtime(inputs.Where(instruction));
            if (stage.Platform.Architecture != inputs.Host.Architecture)
            {
                throw inputs.Error(instruction, $"RUN for {stage.Platform} cannot run on this {inputs.Host} machine: it would need an emulator (binfmt_misc with qemu), which is not supported. Build for {inputs.Host}, or move the command to a stage with FROM --platform=$BUILDPLATFORM.");
            }

            var resolved = inputs.ResolveUser(instruction, rootfs, user);
            // The working directory is made when missing, as part of this step's layer.
            var cwdComponents = RootfsPath.Components(workingDirectory, inputs.Where(instruction));
            if (cwdComponents.Length > 0)
            {
                Directory.CreateDirectory(Path.Combine(FileCopier.MakeParents(rootfs, cwdComponents, (0, 0), inputs.Where(instruction)), cwdComponents[^1]));
            }

            var ignore = new HashSet<string>(StringComparer.Ordinal);
            foreach (var point in OciRuntime.StandardMountPoints)
            {
                if (!Posix.TryLStat(Path.Combine(rootfs, point), out _))
                {
                    ignore.Add(point);
                }
            }

            var runtimeMounts = new List<RuntimeMount>();
            var secretEnv = new List<string>();
            foreach (var mount in mounts)
            {
                if (mount.Type is "secret" or "ssh")
                {
                    // Their mount points are removed afterwards: nothing of a secret's mount is left in the layer.
                    if (mountBinder.SecretMount(instruction, mount, rootfs, secretEnv, ignore) is { } secretMount)
                    {
                        runtimeMounts.Add(secretMount);
                    }

                    continue;
                }

                // A mount point the command needed stays in the image as an empty directory, as with BuildKit.
                runtimeMounts.Add(await mountBinder.RuntimeMountAsync(stage, instruction, mount, ct).ConfigureAwait(false));
            }

            foreach (var (path, content) in heredocScripts)
            {
                var file = Path.Combine(services.Work, "script-" + Guid.NewGuid().ToString("N")[..12]);
                await File.WriteAllTextAsync(file, content, ct).ConfigureAwait(false);
                if (!OperatingSystem.IsWindows())
                {
                    File.SetUnixFileMode(file, (UnixFileMode)Convert.ToInt32("755", 8));
                }

                runtimeMounts.Add(new RuntimeMount(path, "bind", file, ["rbind", "ro"]));
            }

            var workspace = services.Workspace;

            // A bundle whose config holds a secret's value lives in memory (tmpfs), never on disk.
            var bundle = secretEnv.Count > 0 ? workspace.NewSecretDirectory("bundle") : workspace.NewDirectory("bundle");
            var exit = await runtime.RunAsync(rootfs, new RuntimeProcess(args, [.. env, .. secretEnv], workingDirectory, resolved.Uid, resolved.Gid, resolved.AdditionalGids), runtimeMounts, hostNetwork, line => progress.Output(step.Counter, line), workspace.NewContainerId(), bundle, ct).ConfigureAwait(false);

            // The runtime's own mount points (/proc, /dev, /sys) are not part of the image when it had none.
            foreach (var path in ignore.OrderByDescending(p => p.Length))
            {
                var host = Path.Combine(rootfs, path);
                if (Posix.TryLStat(host, out var status) && ((status.IsDirectory && !Directory.EnumerateFileSystemEntries(host).Any()) || (status.Type == UnixFileType.Regular && status.Size == 0)))
                {
                    LayerUnpacker.Remove(host);
                }
            }

            if (exit != 0)
            {
                var shown = instruction.IsJson ? string.Join(' ', args) : instruction.Arguments.FirstOrDefault();
                throw new ContainerException(ErrorCodes.RunFailed, $"{inputs.Where(instruction)}: RUN {shown} failed: the command exited with code {exit}. Its output is above.");
            }

            return ignore;
        }), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>$NAME and ${NAME} of the stage's arguments and environment replaced, for the progress line only (the
    /// command itself is left to the shell, as it is written).</summary>
    private static string ExpandForDisplay(string command, IReadOnlyDictionary<string, string> scope)
        => System.Text.RegularExpressions.Regex.Replace(command, @"\$(?:\{(?<n>[A-Za-z_][A-Za-z0-9_]*)\}|(?<n>[A-Za-z_][A-Za-z0-9_]*))", m => scope.TryGetValue(m.Groups["n"].Value, out var value) ? value : m.Value);

    private static bool IsOnlyHeredoc(string command)
        => System.Text.RegularExpressions.Regex.IsMatch(command.Trim(), "^<<-?(\"[^\"]+\"|'[^']+'|[A-Za-z0-9_]+)$");
}
