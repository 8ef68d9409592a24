using System.Globalization;

namespace Sdk.Containers.Dockerfiles;

/// <summary>One RUN --mount, parsed and checked: bind, cache, tmpfs, secret or ssh, with BuildKit's defaults.</summary>
internal sealed record RunMount(string Type, string Target, string? Source, string? From, string? Id, bool ReadWrite, UnixFileMode Mode, int Uid, int Gid, string? Size, string? Env = null, bool Required = false)
{
    /// <param name="sshMounts">Counts the ssh mounts of the RUN so far, for their default targets.</param>
        public static RunMount Parse(string value, string workingDirectory, string where, Func<string, Exception> error, ref int sshMounts)
        {
            string type = "bind", target = string.Empty;
            string? source = null, from = null, id = null, size = null, env = null;
            var readWrite = false;
            var required = false;
            UnixFileMode? mode = null;
            int uid = 0, gid = 0;
            foreach (var field in value.Split(',', StringSplitOptions.RemoveEmptyEntries))
            {
                var equals = field.IndexOf('=');
                var key = (equals < 0 ? field : field[..equals]).Trim().ToLowerInvariant();
                var item = equals < 0 ? string.Empty : field[(equals + 1)..].Trim();
                int Number() => int.TryParse(item, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n
                    : throw error($"--mount {key}={item} must be a number.");
                switch (key)
                {
                    case "type": type = item; break;
                    case "target" or "dst" or "destination": target = item; break;
                    case "source" or "src": source = item; break;
                    case "from": from = item; break;
                    case "id": id = item; break;
                    case "size": size = item; break;
                    case "rw" or "readwrite": readWrite = item is "" or "true"; break;
                    case "ro" or "readonly": readWrite = item is "false"; break;
                    case "uid": uid = Number(); break;
                    case "gid": gid = Number(); break;
                    case "sharing": break;
                    case "env": env = item; break;
                    case "required": required = item is "" or "true"; break;
                    case "mode":
                        mode = item.Length > 0 && item.All(c => c is >= '0' and <= '7') ? (UnixFileMode)Convert.ToInt32(item, 8)
                            : throw error($"--mount mode={item} is not an octal mode.");
                        break;
                    default:
                        throw error($"--mount does not take '{key}'; it takes type, target, source, from, id, rw, mode, uid, gid, size, sharing, env and required.");
                }
            }

            if (type is not ("bind" or "cache" or "tmpfs" or "secret" or "ssh"))
            {
                throw error($"--mount type={type} is not a mount type; use bind, cache, tmpfs, secret or ssh.");
            }

            if (type == "secret")
            {
                // As BuildKit: the id defaults to the target's file name, the target to /run/secrets/<id>; env= alone
                // puts the value in the command's environment only.
                id ??= target.Length > 0 ? Path.GetFileName(target.TrimEnd('/')) : null;
                if (string.IsNullOrEmpty(id))
                {
                    throw error("--mount=type=secret needs id=<the --secret id> (or a target to take it from).");
                }

                if (target.Length == 0 && env is null)
                {
                    target = $"/run/secrets/{id}";
                }
            }
            else if (type == "ssh")
            {
                id ??= "default";
                if (target.Length == 0)
                {
                    target = $"/run/buildkit/ssh_agent.{sshMounts++}";
                }
            }

            var defaultMode = type switch { "secret" => "400", "ssh" => "600", _ => "755" };
            if (type == "secret" && target.Length == 0)
            {
                return new RunMount(type, string.Empty, null, null, id, false, (UnixFileMode)Convert.ToInt32(defaultMode, 8), uid, gid, null, env, required);
            }

            if (target.Length == 0)
            {
                throw error("--mount needs target=<path in the container>.");
            }

            if (!target.StartsWith('/'))
            {
                target = $"{workingDirectory.TrimEnd('/')}/{target}";
            }

            target = "/" + string.Join('/', Unpacking.RootfsPath.Components(target, where));
            if (type == "cache")
            {
                readWrite = true;
            }

            return new RunMount(type, target, source, from, id, readWrite, mode ?? (UnixFileMode)Convert.ToInt32(defaultMode, 8), uid, gid, size, env, required);
        }
}
