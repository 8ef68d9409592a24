using Sdk.Containers.IO;
using Sdk.Containers.Layers;
using Sdk.Containers.Unpacking;

namespace Sdk.Containers.Dockerfiles;

/// <summary>WORKDIR: changes the config, and makes the directory when it is missing, as BuildKit does (a layer only
/// when something was made).</summary>
internal sealed class WorkdirStep(BuildInputs inputs, FileStepRunner runner) : IStep
{
    public Task ApplyAsync(StageState stage, DockerfileNode instruction, CancellationToken cancellationToken)
    {
        stage.Config.Apply(instruction);
        var directory = stage.Image.Config.WorkingDir ?? "/";
        var user = stage.Image.Config.User ?? string.Empty;
        return runner.RunAsync(stage, new FileChange(instruction, $"WORKDIR {directory}", $"WORKDIR {directory}", ["workdir", directory, user], HistoryAdded: true, (step, ct) =>
        {
            var rootfs = step.Path;
            var components = RootfsPath.Components(directory, inputs.File);
            if (components.Length > 0)
            {
                // Made as BuildKit makes it: 0755, owned by the stage's USER.
                var resolved = string.IsNullOrEmpty(user) ? null : inputs.ResolveUser(instruction, rootfs, user);
                var owner = resolved is null ? (0, 0) : (resolved.Uid, resolved.Gid);
                var target = Path.Combine(FileCopier.MakeParents(rootfs, components, owner, inputs.File), components[^1]);
                if (!Posix.TryLStat(target, out _))
                {
                    Directory.CreateDirectory(target);
                    FileCopier.SetMetadata(target, LayerEntry.DirectoryMode, owner);
                }
            }

            return Task.FromResult<IReadOnlySet<string>?>(null);
        }), cancellationToken);
    }
}
