using System.Globalization;
using Sdk.Containers.IO;
using Sdk.Containers.Running;
using Sdk.Containers.Storage;
using Sdk.Containers.Unpacking;

namespace Sdk.Containers.Dockerfiles;

internal sealed partial class StageBuild
{


    private async Task RunAsync(DockerfileNode instruction, CancellationToken cancellationToken)
    {
        var flags = Flags(instruction, InstructionChecks.RunFlags);
        var sshMounts = 0;
        var scope = _config.ExpansionScope();
        var hostNetwork = false;
        foreach (var (name, value) in flags)
        {
            switch (name)
            {
                case "network":
                    hostNetwork = InstructionChecks.HostNetwork(Expand(instruction, value, scope), problem => _session.Error(instruction, problem, "--network"));
                    break;
                case "security":
                    InstructionChecks.Security(Expand(instruction, value, scope), problem => _session.Error(instruction, problem, "--security"));
                    break;
            }
        }

        var workingDirectory = Image.Config.WorkingDir is { Length: > 0 } wd ? wd : "/";
        var mounts = new List<RunMount>();
        foreach (var (_, value) in flags.Where(f => f.Name == "mount"))
        {
            mounts.Add(RunMount.Parse(Expand(instruction, value, scope), workingDirectory, Where(instruction), problem => _session.Error(instruction, problem, "--mount"), ref sshMounts));
        }

        var shell = Image.Config.Shell ?? ["/bin/sh", "-c"];
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
            throw _session.Error(instruction, "RUN has no command.");
        }

        var env = scope.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => $"{e.Key}={e.Value}").ToList();
        if (!scope.ContainsKey("PATH"))
        {
            env.Add("PATH=" + DefaultPath);
        }

        var user = Image.Config.User ?? string.Empty;
        var keyParts = new List<string> { "run", string.Join('\0', args), string.Join('\0', env), user, workingDirectory, hostNetwork ? "host" : "none" };
        foreach (var mount in mounts)
        {
            keyParts.Add($"mount:{mount}");
            if (mount.Type == "bind")
            {
                keyParts.Add(await BindSourceKeyAsync(instruction, mount, cancellationToken).ConfigureAwait(false));
            }
        }

        // BuildKit's history names the build arguments the command saw: RUN |1 TARGETARCH=amd64 /bin/sh -c ….
        var buildArguments = _config.StageArguments.Where(a => !Image.Environment.Any(e => e.StartsWith(a.Key + "=", StringComparison.Ordinal))).Select(a => $"{a.Key}={a.Value}").ToList();
        var createdBy = $"RUN {(buildArguments.Count > 0 ? $"|{buildArguments.Count} {string.Join(' ', buildArguments)} " : string.Empty)}{string.Join(' ', args)} # buildkit";
        var shown = "RUN " + ExpandForDisplay(instruction.IsJson ? string.Join(' ', args) : instruction.Arguments.FirstOrDefault() ?? string.Empty, scope);
        await StepAsync(instruction, createdBy, shown, keyParts, historyAdded: false, async ct =>
        {
            var runtime = _session.Runtime(Where(instruction));
            if (Platform.Architecture != _session.Host.Architecture)
            {
                throw _session.Error(instruction, $"RUN for {Platform} cannot run on this {_session.Host} machine: it would need an emulator (binfmt_misc with qemu), which is not supported. Build for {_session.Host}, or move the command to a stage with FROM --platform=$BUILDPLATFORM.");
            }

            var rootfs = _rootfs!;
            var resolved = ResolveUser(instruction, user);
            // The working directory is made when missing, as part of this step's layer.
            var cwdComponents = RootfsPath.Components(workingDirectory, Where(instruction));
            if (cwdComponents.Length > 0)
            {
                Directory.CreateDirectory(Path.Combine(FileCopier.MakeParents(rootfs, cwdComponents, (0, 0), Where(instruction)), cwdComponents[^1]));
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
                    if (SecretMount(instruction, mount, rootfs, secretEnv, ignore) is { } secretMount)
                    {
                        runtimeMounts.Add(secretMount);
                    }

                    continue;
                }

                // A mount point the command needed stays in the image as an empty directory, as with BuildKit.
                runtimeMounts.Add(await RuntimeMountAsync(instruction, mount, ct).ConfigureAwait(false));
            }

            foreach (var (path, content) in heredocScripts)
            {
                var file = Path.Combine(_session.Work, "script-" + Guid.NewGuid().ToString("N")[..12]);
                await File.WriteAllTextAsync(file, content, ct).ConfigureAwait(false);
                if (!OperatingSystem.IsWindows())
                {
                    File.SetUnixFileMode(file, (UnixFileMode)Convert.ToInt32("755", 8));
                }

                runtimeMounts.Add(new RuntimeMount(path, "bind", file, ["rbind", "ro"]));
            }

            var progress = Progress;
            var workspace = _session.Workspace;

            // A bundle whose config holds a secret's value lives in memory (tmpfs), never on disk.
            var bundle = secretEnv.Count > 0 ? workspace.NewSecretDirectory("bundle") : workspace.NewDirectory("bundle");
            var exit = await runtime.RunAsync(rootfs, new RuntimeProcess(args, [.. env, .. secretEnv], workingDirectory, resolved.Uid, resolved.Gid, resolved.AdditionalGids), runtimeMounts, hostNetwork, line => Log.Info($"{progress} {line}"), workspace.NewContainerId(), bundle, ct).ConfigureAwait(false);

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
                throw new ContainerException("CONTAINER3022", $"{Where(instruction)}: RUN {shown} failed: the command exited with code {exit}. Its output is above.");
            }

            return ignore;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>$NAME and ${NAME} of the stage's arguments and environment replaced, for the progress line only (the
    /// command itself is left to the shell, as it is written).</summary>
    private static string ExpandForDisplay(string command, IReadOnlyDictionary<string, string> scope)
        => System.Text.RegularExpressions.Regex.Replace(command, @"\$(?:\{(?<n>[A-Za-z_][A-Za-z0-9_]*)\}|(?<n>[A-Za-z_][A-Za-z0-9_]*))", m => scope.TryGetValue(m.Groups["n"].Value, out var value) ? value : m.Value);

    private static bool IsOnlyHeredoc(string command)
        => System.Text.RegularExpressions.Regex.IsMatch(command.Trim(), "^<<-?(\"[^\"]+\"|'[^']+'|[A-Za-z0-9_]+)$");

    /// <summary>
    /// A secret as a read-only file (from the workspace's tmpfs) and/or an environment variable of the command, or an
    /// SSH agent's socket with SSH_AUTH_SOCK; null when an optional one was not given. Paths runc makes for the mount
    /// point are added to <paramref name="stubs"/>, to be removed after the run.
    /// </summary>
    private RuntimeMount? SecretMount(DockerfileNode instruction, RunMount mount, string rootfs, List<string> env, HashSet<string> stubs)
    {
        var where = Where(instruction);
        string source;
        if (mount.Type == "secret")
        {
            if (!_session.Request.Secrets.TryGetValue(mount.Id!, out var secret))
            {
                return mount.Required
                    ? throw _session.Error(instruction, $"RUN --mount=type=secret,id={mount.Id} is required, and no secret '{mount.Id}' was given; pass --secret id={mount.Id},src=FILE (or a ContainerBuildSecret item).", "--mount")
                    : null;
            }

            var value = secret.Read(where);
            if (mount.Env is { } name)
            {
                env.Add($"{name}={System.Text.Encoding.UTF8.GetString(value)}");
            }

            if (mount.Target.Length == 0)
            {
                return null;
            }

            // A fixed name: the id is the user's text and never becomes a path.
            source = Path.Combine(_session.Workspace.NewSecretDirectory("secret"), "value");
            File.WriteAllBytes(source, value);
            FileCopier.SetMetadata(source, mount.Mode, (mount.Uid, mount.Gid));
        }
        else
        {
            if (!_session.Request.Ssh.TryGetValue(mount.Id!, out var agent))
            {
                return mount.Required
                    ? throw _session.Error(instruction, $"RUN --mount=type=ssh,id={mount.Id} is required, and no SSH agent '{mount.Id}' was given; pass --ssh {mount.Id} (the agent of $SSH_AUTH_SOCK) or --ssh {mount.Id}=SOCKET.", "--mount")
                    : null;
            }

            source = agent.ResolveSocket(where);
            env.Add($"SSH_AUTH_SOCK={mount.Target}");
        }

        // What runc will make for the mount point, to be removed after the run. A symbolic link on the way ends the
        // search: runc follows it, and nothing past it is looked at from here (it could point anywhere on the host).
        var components = RootfsPath.Components(mount.Target, where);
        for (var i = 1; i <= components.Length; i++)
        {
            var path = string.Join('/', components[..i]);
            if (stubs.Contains(path) || !Posix.TryLStat(Path.Combine(rootfs, path), out var status))
            {
                stubs.Add(path);
            }
            else if (status.Type == UnixFileType.Symlink)
            {
                break;
            }
        }

        return new RuntimeMount(mount.Target, "bind", source, mount.Type == "secret" ? ["rbind", "ro"] : ["rbind"]);
    }

    private async Task<string> BindSourceKeyAsync(DockerfileNode instruction, RunMount mount, CancellationToken cancellationToken)
    {
        if (mount.From is null)
        {
            var context = _session.Context;
            return "bind:" + context.ContentKey(context.Resolve(mount.Source ?? "/", problem => _session.Error(instruction, problem + ".", "--mount")));
        }

        var (_, key) = await FromTreeAsync(instruction, mount.From, cancellationToken).ConfigureAwait(false);
        return $"bind:{key}:{mount.Source}";
    }

    private async Task<RuntimeMount> RuntimeMountAsync(DockerfileNode instruction, RunMount mount, CancellationToken cancellationToken)
    {
        switch (mount.Type)
        {
            case "tmpfs":
                return new RuntimeMount(mount.Target, "tmpfs", "tmpfs", ["nosuid", "nodev", .. mount.Size is null ? Array.Empty<string>() : [$"size={mount.Size}"]]);
            case "cache":
                var directory = Path.Combine(_session.Store.Root, "run-cache", BuildCache.Key(["cache", mount.Id ?? mount.Target]));
                if (!Directory.Exists(directory))
                {
                    Directory.CreateDirectory(directory);
                    if (Environment.IsPrivilegedProcess)
                    {
                        Posix.LChown(directory, mount.Uid, mount.Gid);
                    }

                    if (!OperatingSystem.IsWindows())
                    {
                        File.SetUnixFileMode(directory, mount.Mode);
                    }
                }

                return new RuntimeMount(mount.Target, "bind", directory, ["rbind", "rw"]);
            default:
                var tree = mount.From is null ? _session.Context : await (await FromTreeAsync(instruction, mount.From, cancellationToken).ConfigureAwait(false)).Tree().ConfigureAwait(false);
                var match = tree.Resolve(mount.Source ?? "/", problem => _session.Error(instruction, problem + ".", "--mount")).Single();
                var source = match.HostPath;
                if (mount.ReadWrite)
                {
                    // Writes go to a copy, so they are lost after the command, as in BuildKit.
                    var copy = Path.Combine(_session.Work, "bind-" + Guid.NewGuid().ToString("N")[..12]);
                    if (match.Status.IsDirectory)
                    {
                        Directory.CreateDirectory(copy);
                        await FileCopier.CopyAsync(copy, tree, [match], "/", new CopyOptions { Where = Where(instruction) }, cancellationToken).ConfigureAwait(false);
                    }
                    else
                    {
                        File.Copy(source, copy);
                    }

                    source = copy;
                }

                return new RuntimeMount(mount.Target, "bind", source, ["rbind", mount.ReadWrite ? "rw" : "ro"]);
        }
    }
}
