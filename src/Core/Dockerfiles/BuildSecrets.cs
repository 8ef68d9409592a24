namespace Sdk.Containers.Dockerfiles;

/// <summary>
/// A secret a RUN may mount (buildx's --secret): its value comes from a file or an environment variable and is read
/// only when a step mounts it. The value is never part of a layer, a cache key, the config, the history or a message.
/// </summary>
public sealed record BuildSecret(string Id, string? FilePath, string? EnvironmentVariable)
{
    /// <summary>buildx's syntax: id=ID[,src=FILE|,env=VAR][,type=file|env]; with neither, the variable named ID.</summary>
    public static BuildSecret Parse(string spec)
    {
        string? id = null, source = null, env = null, type = null;
        foreach (var field in spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = field.IndexOf('=');
            var key = equals < 0 ? field : field[..equals];
            var value = equals < 0 ? string.Empty : field[(equals + 1)..];
            switch (key)
            {
                case "id": id = value; break;
                case "src" or "source": source = value; break;
                case "env": env = value; break;
                case "type" when value is "file" or "env": type = value; break;
                default:
                    throw new ContainerException(ErrorCodes.InvalidSecret, $"--secret {spec}: '{key}' is not a secret field; write id=ID,src=FILE or id=ID,env=VARIABLE.");
            }
        }

        if (string.IsNullOrEmpty(id))
        {
            throw new ContainerException(ErrorCodes.InvalidSecret, $"--secret {spec}: the secret needs an id (id=ID,src=FILE or id=ID,env=VARIABLE).");
        }

        if (type == "env" && source is not null && env is null)
        {
            (env, source) = (source, null);
        }

        return source is not null ? new BuildSecret(id, Path.GetFullPath(source), null) : new BuildSecret(id, null, env ?? id);
    }

    /// <summary>The value, read now; the error says where it was looked for, never what it holds.</summary>
    public byte[] Read(string where)
    {
        if (FilePath is not null)
        {
            try
            {
                return File.ReadAllBytes(FilePath);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new ContainerException(ErrorCodes.InvalidSecret, $"{where}: the secret '{Id}' should come from the file {FilePath}, which cannot be read ({ex.GetType().Name}).");
            }
        }

        return Environment.GetEnvironmentVariable(EnvironmentVariable!) is { } value
            ? System.Text.Encoding.UTF8.GetBytes(value)
            : throw new ContainerException(ErrorCodes.InvalidSecret, $"{where}: the secret '{Id}' should come from the environment variable {EnvironmentVariable}, which is not set.");
    }
}

/// <summary>An SSH agent a RUN may use (buildx's --ssh ID[=SOCKET]): the agent's socket, $SSH_AUTH_SOCK by default.</summary>
public sealed record SshAgent(string Id, string? Socket)
{
    public static SshAgent Parse(string spec)
    {
        var equals = spec.IndexOf('=');
        var id = (equals < 0 ? spec : spec[..equals]).Trim();
        var socket = equals < 0 ? null : spec[(equals + 1)..].Trim();
        if (id.Length == 0)
        {
            throw new ContainerException(ErrorCodes.InvalidSecret, $"--ssh {spec}: write ID or ID=SOCKET (such as default=$SSH_AUTH_SOCK).");
        }

        if (socket is not null && (socket.Contains(',') || !socket.StartsWith('/') && !File.Exists(socket)))
        {
            throw new ContainerException(ErrorCodes.InvalidSecret, $"--ssh {spec}: only an agent's socket is supported (ID=/path/to/agent.sock); for key files, start ssh-agent and ssh-add them.");
        }

        return new SshAgent(id, socket is null ? null : Path.GetFullPath(socket));
    }

    public string ResolveSocket(string where)
    {
        var socket = Socket ?? Environment.GetEnvironmentVariable("SSH_AUTH_SOCK");
        if (string.IsNullOrEmpty(socket) || !IO.Posix.TryLStat(socket, out var status) || status.Type != IO.UnixFileType.Socket)
        {
            throw new ContainerException(ErrorCodes.InvalidSecret, $"{where}: the SSH agent '{Id}' has no socket at {(string.IsNullOrEmpty(socket) ? "$SSH_AUTH_SOCK (unset)" : socket)}; start ssh-agent, or pass --ssh {Id}=/path/to/agent.sock.");
        }

        return socket;
    }
}
