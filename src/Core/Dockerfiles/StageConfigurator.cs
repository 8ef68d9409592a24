using System.Globalization;
using Sdk.Containers.Building;
using Sdk.Containers.Images;

namespace Sdk.Containers.Dockerfiles;

/// <summary>
/// Applies a stage's metadata instructions to the image it builds, with Docker's semantics: ENV and in-stage ARG
/// values expand later words; LABEL, EXPOSE, USER, VOLUME, STOPSIGNAL, MAINTAINER are expanded; WORKDIR is relative to
/// the previous one; CMD and ENTRYPOINT in shell form run through SHELL; ENTRYPOINT clears a CMD the stage did not set
/// itself; HEALTHCHECK takes its flags; ONBUILD stores its instruction. Each adds an empty-layer history entry.
/// Filesystem instructions (RUN, COPY, ADD) are left to the builder.
/// </summary>
public sealed class StageConfigurator
{
    private readonly ImageBuilder _image;
    private readonly ShellLexer _lexer;
    private readonly IReadOnlyDictionary<string, string> _buildArguments;
    private readonly IReadOnlyDictionary<string, string> _globalArguments;
    private readonly Dictionary<string, string> _stageArguments = new(StringComparer.Ordinal);
    private readonly string _file;
    private bool _cmdSet;
    private IReadOnlyDictionary<string, string>? _scope;

    public StageConfigurator(ImageBuilder image, char escapeToken, IReadOnlyDictionary<string, string> buildArguments, IReadOnlyDictionary<string, string> globalArguments, string file = "Dockerfile")
    {
        _image = image;
        _lexer = new ShellLexer(escapeToken);
        _buildArguments = buildArguments;
        _globalArguments = globalArguments;
        _file = file;
    }

    /// <summary>The stage's declared arguments that have values, in the order declared.</summary>
    public IReadOnlyDictionary<string, string> StageArguments => _stageArguments;

    /// <summary>What words expand with: the image's environment, over the stage's declared arguments.</summary>
    public IReadOnlyDictionary<string, string> ExpansionScope()
    {
        var scope = new Dictionary<string, string>(_stageArguments, StringComparer.Ordinal);
        foreach (var entry in _image.Environment)
        {
            var equals = entry.IndexOf('=');
            if (equals > 0)
            {
                scope[entry[..equals]] = entry[(equals + 1)..];
            }
        }

        return scope;
    }

    /// <summary>Applies one instruction; returns false for the ones that change the filesystem (left to the builder).</summary>
    public bool Apply(DockerfileNode instruction)
    {
        // Every word of an instruction expands with the values from before it, as in Docker.
        _scope = ExpansionScope();
        var args = instruction.Arguments.ToArray();
        switch (instruction.Value)
        {
            case "env":
                for (var i = 0; i + 1 < args.Length; i += 3)
                {
                    _image.SetEnvironmentVariable(Expand(args[i], instruction), Expand(args[i + 1], instruction));
                }

                break;
            case "arg":
                foreach (var declaration in args)
                {
                    var equals = declaration.IndexOf('=');
                    var name = equals < 0 ? declaration : declaration[..equals];
                    var fallback = equals < 0 ? (_globalArguments.TryGetValue(name, out var global) ? global : null) : Expand(declaration[(equals + 1)..], instruction);
                    var value = _buildArguments.TryGetValue(name, out var given) ? given : fallback;
                    if (value is not null)
                    {
                        _stageArguments[name] = value;
                    }
                }

                break;
            case "label":
                for (var i = 0; i + 1 < args.Length; i += 3)
                {
                    _image.SetLabel(Expand(args[i], instruction), Expand(args[i + 1], instruction));
                }

                break;
            case "maintainer":
                _image.Author = Expand(args.FirstOrDefault() ?? string.Empty, instruction);
                break;
            case "expose":
                foreach (var port in args.SelectMany(a => Ports(Expand(a, instruction), instruction)))
                {
                    _image.AddExposedPort(port);
                }

                break;
            case "user":
                _image.SetUser(Expand(Single(args, instruction), instruction));
                break;
            case "workdir":
                var directory = Expand(Single(args, instruction), instruction);
                var current = _image.Config.WorkingDir ?? "/";
                _image.SetWorkingDirectory(directory.StartsWith('/') ? Normalize(directory) : Normalize($"{current.TrimEnd('/')}/{directory}"));
                break;
            case "cmd":
                _image.SetCmd(Command(instruction, args));
                _cmdSet = true;
                break;
            case "entrypoint":
                _image.SetEntrypoint(Command(instruction, args));
                if (!_cmdSet)
                {
                    _image.SetCmd(null);
                }

                break;
            case "shell":
                if (!instruction.IsJson || args.Length == 0)
                {
                    throw Error(instruction, "SHELL takes a JSON array, such as SHELL [\"/bin/bash\", \"-c\"].");
                }

                _image.UpdateConfig(c => c with { Shell = args });
                break;
            case "stopsignal":
                var signal = Expand(Single(args, instruction), instruction);
                _image.UpdateConfig(c => c with { StopSignal = signal });
                break;
            case "volume":
                var volumes = args.Select(a => Expand(a, instruction)).Where(v => v.Length > 0).ToArray();
                _image.UpdateConfig(c => c with { Volumes = (c.Volumes ?? []).Concat(volumes).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray() });
                break;
            case "healthcheck":
                var health = Healthcheck(instruction);
                _image.UpdateConfig(c => c with { Healthcheck = health });
                break;
            case "onbuild":
                var trigger = instruction.Original.Trim();
                trigger = trigger[(trigger.IndexOf(' ') + 1)..].Trim();
                _image.UpdateConfig(c => c with { OnBuild = [.. c.OnBuild ?? [], trigger] });
                break;
            default:
                return false;
        }

        _image.AddEmptyHistory(instruction.Original.Trim(), "buildkit.dockerfile.v0");
        return true;
    }

    private IReadOnlyList<string> Command(DockerfileNode instruction, string[] args)
    {
        if (instruction.IsJson)
        {
            return args;
        }

        IReadOnlyList<string> shell = _image.Config.Shell ?? ["/bin/sh", "-c"];
        return [.. shell, args.FirstOrDefault() ?? string.Empty];
    }

    private HealthConfig Healthcheck(DockerfileNode instruction)
    {
        var head = instruction.Next ?? throw Error(instruction, "HEALTHCHECK needs NONE or CMD followed by a command.");
        if (head.Value.Equals("NONE", StringComparison.OrdinalIgnoreCase))
        {
            if (head.Next is not null || instruction.Flags.Count > 0)
            {
                throw Error(instruction, "HEALTHCHECK NONE takes no other arguments or flags.");
            }

            return new HealthConfig { Test = ["NONE"] };
        }

        if (!head.Value.Equals("CMD", StringComparison.OrdinalIgnoreCase) || head.Next is null)
        {
            throw Error(instruction, $"HEALTHCHECK has '{head.Value}'; write HEALTHCHECK [flags] CMD command, or HEALTHCHECK NONE.");
        }

        var command = new List<string>();
        for (var node = head.Next; node is not null; node = node.Next)
        {
            command.Add(node.Value);
        }

        var health = new HealthConfig { Test = instruction.IsJson ? ["CMD", .. command] : ["CMD-SHELL", command[0]] };
        foreach (var flag in instruction.Flags)
        {
            var equals = flag.IndexOf('=');
            var (name, value) = equals < 0 ? (flag, string.Empty) : (flag[..equals], flag[(equals + 1)..]);
            health = name switch
            {
                "--interval" => health with { Interval = Duration(value, name, instruction) },
                "--timeout" => health with { Timeout = Duration(value, name, instruction) },
                "--start-period" => health with { StartPeriod = Duration(value, name, instruction) },
                "--start-interval" => health with { StartInterval = Duration(value, name, instruction) },
                "--retries" => int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var retries)
                    ? health with { Retries = retries }
                    : throw Error(instruction, $"--retries is '{value}'; it must be a whole number."),
                _ => throw Error(instruction, $"HEALTHCHECK does not take the flag {name}; it takes --interval, --timeout, --start-period, --start-interval and --retries."),
            };
        }

        return health;
    }

    /// <summary>Go durations as Docker takes them (1m30s, 500ms, 5s), in nanoseconds.</summary>
    private long Duration(string value, string flag, DockerfileNode instruction)
    {
        var match = System.Text.RegularExpressions.Regex.Match(value, @"^(?:(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h))+$");
        if (!match.Success)
        {
            throw Error(instruction, $"{flag} is '{value}'; write a duration such as 30s, 1m30s or 500ms.");
        }

        double total = 0;
        for (var i = 0; i < match.Groups[1].Captures.Count; i++)
        {
            var amount = double.Parse(match.Groups[1].Captures[i].Value, CultureInfo.InvariantCulture);
            total += match.Groups[2].Captures[i].Value switch
            {
                "ns" => amount,
                "us" or "µs" => amount * 1e3,
                "ms" => amount * 1e6,
                "s" => amount * 1e9,
                "m" => amount * 60e9,
                _ => amount * 3600e9,
            };
        }

        return (long)total;
    }

    private IEnumerable<string> Ports(string value, DockerfileNode instruction)
    {
        var slash = value.IndexOf('/');
        var ports = slash < 0 ? value : value[..slash];
        var protocol = slash < 0 ? "tcp" : value[(slash + 1)..].ToLowerInvariant();
        var dash = ports.IndexOf('-');
        if (!int.TryParse(dash < 0 ? ports : ports[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out var first)
            || !int.TryParse(dash < 0 ? ports : ports[(dash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var last)
            || first < 1 || last > 65535 || last < first || protocol is not ("tcp" or "udp" or "sctp"))
        {
            throw Error(instruction, $"EXPOSE has '{value}'; write a port or range with an optional protocol, such as 80, 53/udp or 8000-8010/tcp.");
        }

        return Enumerable.Range(first, last - first + 1).Select(p => $"{p}/{protocol}");
    }

    private string Single(string[] args, DockerfileNode instruction)
        => args.Length == 1 ? args[0] : throw Error(instruction, $"{instruction.Value.ToUpperInvariant()} takes exactly one argument.");

    private string Expand(string word, DockerfileNode instruction)
    {
        try
        {
            return _lexer.ProcessWord(word, _scope ?? ExpansionScope());
        }
        catch (ShellExpansionException ex)
        {
            throw Error(instruction, ex.Message);
        }
    }

    private static string Normalize(string path)
    {
        var parts = new List<string>();
        foreach (var part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == "..")
            {
                if (parts.Count > 0)
                {
                    parts.RemoveAt(parts.Count - 1);
                }
            }
            else if (part != ".")
            {
                parts.Add(part);
            }
        }

        return "/" + string.Join('/', parts);
    }

    private DockerfileSyntaxException Error(DockerfileNode instruction, string problem)
        => new(_file, instruction.StartLine, instruction.EndLine, problem);
}
