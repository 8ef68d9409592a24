using System.Globalization;
using Sdk.Containers.IO;
using Sdk.Containers.Progress;
using Sdk.Containers.Running;
using Sdk.Containers.Storage;
using Sdk.Containers.Unpacking;

namespace Sdk.Containers.Dockerfiles;

/// <summary>What RUN --mount gives the command: secrets and SSH agents (never in the layer), caches, tmpfs and binds.</summary>
internal sealed class RunMounts(BuildInputs inputs, BuildServices services, FromSources sources)
{
    /// <summary>
    /// A secret as a read-only file (from the workspace's tmpfs) and/or an environment variable of the command, or an
    /// SSH agent's socket with SSH_AUTH_SOCK; null when an optional one was not given. Paths runc makes for the mount
    /// point are added to <paramref name="stubs"/>, to be removed after the run.
    /// </summary>
    public RuntimeMount? SecretMount(DockerfileNode instruction, RunMount mount, string rootfs, List<string> env, HashSet<string> stubs)
    {
        var where = inputs.Where(instruction);
        string source;
        if (mount.Type == "secret")
        {
            if (!inputs.Request.Secrets.TryGetValue(mount.Id!, out var secret))
            {
                return mount.Required
                    ? throw inputs.Error(instruction, $"RUN --mount=type=secret,id={mount.Id} is required, and no secret '{mount.Id}' was given; pass --secret id={mount.Id},src=FILE (or a ContainerBuildSecret item).", "--mount")
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
            source = Path.Combine(services.Workspace.NewSecretDirectory("secret"), "value");
            File.WriteAllBytes(source, value);
            FileCopier.SetMetadata(source, mount.Mode, (mount.Uid, mount.Gid));
        }
        else
        {
            if (!inputs.Request.Ssh.TryGetValue(mount.Id!, out var agent))
            {
                return mount.Required
                    ? throw inputs.Error(instruction, $"RUN --mount=type=ssh,id={mount.Id} is required, and no SSH agent '{mount.Id}' was given; pass --ssh {mount.Id} (the agent of $SSH_AUTH_SOCK) or --ssh {mount.Id}=SOCKET.", "--mount")
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

    public async Task<string> BindSourceKeyAsync(StageState stage, DockerfileNode instruction, RunMount mount, CancellationToken cancellationToken)
    {
        if (mount.From is null)
        {
            var context = inputs.Context;
            return "bind:" + context.ContentKey(context.Resolve(mount.Source ?? "/", problem => inputs.Error(instruction, problem + ".", "--mount")));
        }

        var from = await sources.ResolveAsync(stage, instruction, mount.From, cancellationToken).ConfigureAwait(false);
        return $"bind:{from.Key}:{mount.Source}";
    }

    public async Task<RuntimeMount> RuntimeMountAsync(StageState stage, DockerfileNode instruction, RunMount mount, CancellationToken cancellationToken)
    {
        switch (mount.Type)
        {
            case "tmpfs":
                return new RuntimeMount(mount.Target, "tmpfs", "tmpfs", ["nosuid", "nodev", .. mount.Size is null ? Array.Empty<string>() : [$"size={mount.Size}"]]);
            case "cache":
                var directory = Path.Combine(services.Store.Root, "run-cache", BuildCache.Key(["cache", mount.Id ?? mount.Target]));
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
                var tree = mount.From is null ? inputs.Context : await (await sources.ResolveAsync(stage, instruction, mount.From, cancellationToken).ConfigureAwait(false)).Open().ConfigureAwait(false);
                var match = tree.Resolve(mount.Source ?? "/", problem => inputs.Error(instruction, problem + ".", "--mount")).Single();
                var source = match.HostPath;
                if (mount.ReadWrite)
                {
                    // Writes go to a copy, so they are lost after the command, as in BuildKit.
                    var copy = Path.Combine(services.Work, "bind-" + Guid.NewGuid().ToString("N")[..12]);
                    if (match.Status.IsDirectory)
                    {
                        Directory.CreateDirectory(copy);
                        await FileCopier.CopyAsync(copy, tree, [match], "/", new CopyOptions { Where = inputs.Where(instruction) }, cancellationToken).ConfigureAwait(false);
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
