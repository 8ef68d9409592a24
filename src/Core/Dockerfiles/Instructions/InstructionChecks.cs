namespace Sdk.Containers.Dockerfiles;

/// <summary>
/// What can be checked of an instruction from its text alone: its flags, the exec form, RUN's --mount/--network/
/// --security and COPY/ADD's --chmod. The builder checks every instruction of the Dockerfile this way before it pulls
/// or runs anything (a bad flag on the last line fails at once, not after minutes of work), and again, with build
/// arguments expanded, when it gets to the step.
/// </summary>
internal static class InstructionChecks
{
    public static readonly string[] RunFlags = ["mount", "network", "security"];
    public static readonly string[] CopyFlags = ["from", "chown", "chmod", "link", "exclude"];
    public static readonly string[] AddFlags = ["chown", "chmod", "link", "exclude", "checksum"];

    /// <summary>Every instruction of the stages, checked as far as its text allows; errors name file, line and column.</summary>
    public static void CheckAll(IEnumerable<BuildStage> stages, Func<DockerfileNode, string, string?, Exception> error)
    {
        foreach (var instruction in stages.SelectMany(s => s.Instructions))
        {
            Func<string, string?, Exception> at = (problem, near) => error(instruction, problem, near);
            ExecForm(instruction, at);
            switch (instruction.Value)
            {
                case "run":
                    var sshMounts = 0;
                    foreach (var (name, value) in Flags(instruction, RunFlags, at))
                    {
                        // A value with a variable in it is checked once the build arguments are known.
                        if (value.Contains('$'))
                        {
                            continue;
                        }

                        switch (name)
                        {
                            case "mount":
                                RunMount.Parse(value, "/", string.Empty, problem => at(problem, "--mount"), ref sshMounts);
                                break;
                            case "network":
                                HostNetwork(value, problem => at(problem, "--network"));
                                break;
                            case "security":
                                Security(value, problem => at(problem, "--security"));
                                break;
                        }
                    }

                    break;
                case "copy" or "add":
                    foreach (var (name, value) in Flags(instruction, instruction.Value == "add" ? AddFlags : CopyFlags, at))
                    {
                        if (name == "chmod" && !value.Contains('$'))
                        {
                            Chmod(value, problem => at(problem, "--chmod"));
                        }
                    }

                    if (instruction.Arguments.Count() < 2)
                    {
                        var upper = instruction.Value.ToUpperInvariant();
                        throw at($"{upper} needs at least one source and a destination: {upper} source… destination.", null);
                    }

                    break;
            }
        }
    }

    public static bool HostNetwork(string value, Func<string, Exception> error) => value switch
    {
        "host" => true,
        "none" or "default" => false,
        var other => throw error($"--network={other} is not supported; use none (the default here) or host."),
    };

    public static void Security(string value, Func<string, Exception> error)
    {
        if (value != "sandbox")
        {
            throw error($"--security={value} is not supported; commands run with the default capabilities.");
        }
    }

    public static UnixFileMode Chmod(string text, Func<string, Exception> error)
        => text.Length is > 0 and <= 4 && text.All(c => c is >= '0' and <= '7')
            ? (UnixFileMode)Convert.ToInt32(text, 8)
            : throw error($"--chmod={text} is not an octal mode; write it like --chmod=755 or --chmod=0644.");

    /// <summary>
    /// A shell-form command that starts like a JSON array ('["' or "['") but does not parse is almost always a broken
    /// exec form (single quotes, a missing comma or quote): BuildKit would quietly run it through the shell instead,
    /// where it fails at run time or never. We say so at once.
    /// </summary>
    public static void ExecForm(DockerfileNode instruction, Func<string, string?, Exception> error)
    {
        if (instruction.IsJson || instruction.Value is not ("run" or "cmd" or "entrypoint" or "shell" or "healthcheck"))
        {
            return;
        }

        var text = (instruction.Value == "healthcheck" ? instruction.Next?.Next?.Value : instruction.Arguments.FirstOrDefault()) ?? string.Empty;
        var trimmed = text.Trim();
        if (!(trimmed.StartsWith("[\"", StringComparison.Ordinal) || trimmed.StartsWith("['", StringComparison.Ordinal)) || !trimmed.EndsWith(']'))
        {
            if (instruction.Value == "shell")
            {
                throw error("SHELL takes the exec form, a JSON array such as [\"/bin/bash\", \"-c\"].", null);
            }

            return;
        }

        string problem;
        try
        {
            System.Text.Json.JsonDocument.Parse(trimmed).Dispose();
            problem = "it must be an array of strings only";
        }
        catch (System.Text.Json.JsonException ex)
        {
            problem = ex.Message.Split(" Path:", 2)[0].TrimEnd('.');
        }

        throw error($"{instruction.Value.ToUpperInvariant()} looks like the exec form but is not valid JSON ({problem}). Write a JSON array with double quotes, such as [\"executable\", \"argument\"], or drop the brackets for the shell form.", trimmed[..1]);
    }

    /// <summary>Splits --name=value flags, checking each is one the instruction takes.</summary>
    public static List<(string Name, string Value)> Flags(DockerfileNode instruction, string[] allowed, Func<string, string?, Exception> error)
    {
        var flags = new List<(string, string)>();
        foreach (var flag in instruction.Flags)
        {
            var equals = flag.IndexOf('=');
            var name = (equals < 0 ? flag : flag[..equals])[2..];
            var value = equals < 0 ? "true" : flag[(equals + 1)..];
            if (!allowed.Contains(name))
            {
                throw error($"{instruction.Value.ToUpperInvariant()} does not take the flag --{name}; it takes {string.Join(", ", allowed.Select(a => "--" + a))}.", flag);
            }

            flags.Add((name, value));
        }

        return flags;
    }
}
