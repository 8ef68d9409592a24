using System.Runtime.ExceptionServices;
using Sdk.Containers.Digests;

namespace Sdk.Containers.Daemons;

/// <summary>An image the engine has: its ID as the engine prints it (the CLI takes it back so) and as a digest.</summary>
public sealed record EngineImageId(string Id, Digest Digest)
{
    public override string ToString() => Digest.ToString();
}

/// <summary>Reading images out of the engine, for docker-daemon: and podman: bases.</summary>
public sealed partial class LocalDaemon
{
    /// <summary>The Docker engine as the docker CLI reaches it (DOCKER_HOST, DOCKER_CONTEXT, the current context).</summary>
    public static LocalDaemon Docker { get; } = new("docker");

    /// <summary>Podman's storage as the podman CLI reaches it (local, or CONTAINER_HOST for a remote one).</summary>
    public static LocalDaemon Podman { get; } = new("podman");

    /// <summary>
    /// The ID of the image the engine has under <paramref name="name"/>: one cheap call that reads no layer, and the
    /// key an earlier export is found by.
    /// </summary>
    /// <param name="source">The base as the user wrote it, for errors.</param>
    public async Task<EngineImageId> ImageIdAsync(string name, string source, CancellationToken cancellationToken)
    {
        var (exitCode, output) = await RunAsync(Command, ["image", "inspect", "--format", "{{.Id}}", name], stdin: null, TimeSpan.FromMinutes(1), cancellationToken).ConfigureAwait(false);
        if (exitCode == 0)
        {
            // Docker prints sha256:HEX; Podman prints the hex alone. Standard output comes first, before any log line.
            var id = output.Split('\n', StringSplitOptions.TrimEntries)[0];
            return Digest.TryParse(id.Contains(':', StringComparison.Ordinal) ? id : "sha256:" + id, out var digest, out var error)
                ? new EngineImageId(id, digest)
                : throw new ContainerException(ErrorCodes.EngineExportFailed, $"`{Command} image inspect {name}` printed '{id}', which is no image ID ({error}).");
        }

        if (IsNoSuchImage(output))
        {
            throw new ContainerException(ErrorCodes.EngineImageMissing, $"The base image {source}: {Description} has no image '{name}'. Pull or build it into that engine first (`{Command} pull {name}`, `{Command} build -t {name} .`); `{Command} images` lists what it has.");
        }

        throw new ContainerException(ErrorCodes.EngineMissing, $"The base image {source} is read from {Description}, which did not answer ({FirstLine(output).TrimEnd('.')}). Start it, point {(Command == "podman" ? "CONTAINER_HOST" : "DOCKER_HOST or the docker context")} at one that runs, or use a registry or docker-archive: base.");
    }

    /// <summary>
    /// Streams `image save` of <paramref name="id"/> into <paramref name="read"/>, with no file in between. The ID, not
    /// the name, is saved, so a tag moved since <see cref="ImageIdAsync"/> cannot swap the image under its key.
    /// </summary>
    public async Task<T> SaveAsync<T>(EngineImageId id, string source, Func<Stream, Task<T>> read, CancellationToken cancellationToken)
    {
        string[] arguments = Command == "podman" ? ["image", "save", "--format", "docker-archive", id.Id] : ["image", "save", id.Id];
        T? result = default;
        ExceptionDispatchInfo? unreadable = null;
        var (exitCode, errors) = await RunAsync(Command, arguments, stdin: null, TimeSpan.FromMinutes(30), cancellationToken, stdout: async stream =>
        {
            try
            {
                result = await read(stream).ConfigureAwait(false);
            }
            catch (ContainerException ex)
            {
                // A failing engine leaves a truncated tar: its own message says more than "truncated", so it goes first.
                unreadable = ExceptionDispatchInfo.Capture(ex);
            }
        }).ConfigureAwait(false);
        if (exitCode != 0)
        {
            throw new ContainerException(ErrorCodes.EngineExportFailed, $"Exporting the base image {source} ({id}) with `{Command} {string.Join(' ', arguments)}` failed with exit code {exitCode}: {FirstLine(errors)}");
        }

        unreadable?.Throw();
        return result!;
    }

    /// <summary>The engine as errors name it, with what chooses it.</summary>
    private string Description => Command == "podman"
        ? Environment.GetEnvironmentVariable("CONTAINER_HOST") is { Length: > 0 } podmanHost ? $"Podman at CONTAINER_HOST={podmanHost}" : "Podman"
        : Environment.GetEnvironmentVariable("DOCKER_HOST") is { Length: > 0 } host ? $"the Docker engine at DOCKER_HOST={host}"
        : Environment.GetEnvironmentVariable("DOCKER_CONTEXT") is { Length: > 0 } context ? $"the Docker engine of docker context '{context}'"
        : "the Docker engine of the current docker context";
}
