using Sdk.Containers.Images;

namespace Sdk.Containers.Dockerfiles;

/// <summary>One FROM and the instructions after it.</summary>
/// <param name="Base">The expanded base: an image reference, "scratch", or an earlier stage's name.</param>
/// <param name="BaseStage">The index of the earlier stage used as base, if any.</param>
public sealed record BuildStage(int Index, string? Name, string Base, int? BaseStage, string? Platform, DockerfileNode From, IReadOnlyList<DockerfileNode> Instructions)
{
    /// <summary>The ARGs declared before the first FROM (with --build-arg values and the platform ones): an ARG
    /// in the stage that names one without a value takes it.</summary>
    public IReadOnlyDictionary<string, string> GlobalArguments { get; init; } = new Dictionary<string, string>();
}

/// <summary>
/// Splits a parsed Dockerfile into build stages the way BuildKit does: ARGs before the first FROM are global and visible
/// only in FROM lines (with --build-arg values and the automatic TARGET*/BUILD* platform arguments), FROM images and
/// --platform are expanded with them, `AS name` names a stage that later FROMs can use as their base.
/// </summary>
public static partial class BuildStages
{
    public static readonly HashSet<string> KnownInstructions = new(StringComparer.Ordinal)
    {
        "add", "arg", "cmd", "copy", "entrypoint", "env", "expose", "from", "healthcheck", "label", "maintainer",
        "onbuild", "run", "shell", "stopsignal", "user", "volume", "workdir",
    };

    /// <summary>The automatic platform arguments for a target and a build platform.</summary>
    public static Dictionary<string, string> PlatformArguments(Platform target, Platform build)
    {
        var arguments = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (prefix, platform) in new[] { ("TARGET", target), ("BUILD", build) })
        {
            arguments[prefix + "PLATFORM"] = platform.ToString();
            arguments[prefix + "OS"] = platform.Os;
            arguments[prefix + "ARCH"] = platform.Architecture;
            arguments[prefix + "VARIANT"] = platform.Variant ?? string.Empty;
        }

        return arguments;
    }

    public static IReadOnlyList<BuildStage> Split(DockerfileAst ast, IReadOnlyDictionary<string, string> buildArguments, Platform target, Platform build, string file = "Dockerfile")
    {
        var lexer = new ShellLexer(ast.EscapeToken);
        var global = PlatformArguments(target, build);
        var stages = new List<BuildStage>();
        var names = new Dictionary<string, int>(StringComparer.Ordinal);
        DockerfileNode? from = null;
        var body = new List<DockerfileNode>();

        void Close()
        {
            if (from is not null)
            {
                stages.Add(MakeStage(stages.Count, from, body.ToArray(), global, names, lexer, file));
                if (stages[^1].Name is { } name)
                {
                    names[name] = stages.Count - 1;
                }
            }
        }

        foreach (var instruction in ast.Instructions)
        {
            if (!KnownInstructions.Contains(instruction.Value))
            {
                throw new DockerfileSyntaxException(file, instruction.StartLine, instruction.EndLine, $"unknown instruction '{instruction.Original.Split(' ', 2)[0]}'. Instructions are {string.Join(", ", KnownInstructions.Order().Select(i => i.ToUpperInvariant()))}.", column: 1);
            }

            if (instruction.Value == "from")
            {
                Close();
                from = instruction;
                body.Clear();
                continue;
            }

            if (from is null)
            {
                if (instruction.Value != "arg")
                {
                    throw new DockerfileSyntaxException(file, instruction.StartLine, instruction.EndLine, $"{instruction.Value.ToUpperInvariant()} comes before any FROM; only ARG may (a global argument for FROM lines).");
                }

                foreach (var declaration in instruction.Arguments)
                {
                    var (name, value) = Declare(declaration, global, lexer, file, instruction);
                    global[name] = buildArguments.TryGetValue(name, out var given) ? given : value ?? (global.TryGetValue(name, out var earlier) ? earlier : string.Empty);
                }

                continue;
            }

            body.Add(instruction);
        }

        Close();
        if (stages.Count == 0)
        {
            throw new DockerfileSyntaxException(file, ast.EndLine, ast.EndLine, "there is no FROM; a Dockerfile needs at least one build stage.");
        }

        return stages;
    }

    private static (string Name, string? Value) Declare(string declaration, IReadOnlyDictionary<string, string> scope, ShellLexer lexer, string file, DockerfileNode at)
    {
        var equals = declaration.IndexOf('=');
        if (equals < 0)
        {
            return (declaration, null);
        }

        try
        {
            return (declaration[..equals], lexer.ProcessWord(declaration[(equals + 1)..], scope));
        }
        catch (ShellExpansionException ex)
        {
            throw new DockerfileSyntaxException(file, at.StartLine, at.EndLine, ex.Message);
        }
    }

    private static BuildStage MakeStage(int index, DockerfileNode from, IReadOnlyList<DockerfileNode> body, IReadOnlyDictionary<string, string> global, Dictionary<string, int> names, ShellLexer lexer, string file)
    {
        var arguments = from.Arguments.ToArray();
        string Expand(string word)
        {
            try
            {
                return lexer.ProcessWord(word, global);
            }
            catch (ShellExpansionException ex)
            {
                throw new DockerfileSyntaxException(file, from.StartLine, from.EndLine, ex.Message);
            }
        }

        if (arguments.Length is not (1 or 3) || (arguments.Length == 3 && !arguments[1].Equals("as", StringComparison.OrdinalIgnoreCase)))
        {
            throw new DockerfileSyntaxException(file, from.StartLine, from.EndLine, "FROM takes an image and optionally AS and a stage name: FROM image[:tag] [AS name].");
        }

        var baseName = Expand(arguments[0]);
        if (baseName.Length == 0)
        {
            throw new DockerfileSyntaxException(file, from.StartLine, from.EndLine, $"the base name ({arguments[0]}) is blank after expansion; declare the ARG it uses before the first FROM, or pass --build-arg.", from.Original.IndexOf(arguments[0], StringComparison.Ordinal) + 1);
        }

        string? name = null;
        if (arguments.Length == 3)
        {
            name = arguments[2].ToLowerInvariant();
            if (!StageName().IsMatch(name))
            {
                throw new DockerfileSyntaxException(file, from.StartLine, from.EndLine, $"'{arguments[2]}' is not a valid stage name: use letters, digits, '-', '_' and '.', starting with a letter.");
            }

            if (names.ContainsKey(name))
            {
                throw new DockerfileSyntaxException(file, from.StartLine, from.EndLine, $"the stage name '{name}' is already used by an earlier stage; stage names must be unique.");
            }
        }

        string? platform = null;
        foreach (var flag in from.Flags)
        {
            if (flag.StartsWith("--platform=", StringComparison.Ordinal))
            {
                platform = Expand(flag["--platform=".Length..]);
            }
            else
            {
                throw new DockerfileSyntaxException(file, from.StartLine, from.EndLine, $"FROM does not take the flag '{flag}'; it takes --platform=os/arch.");
            }
        }

        int? baseStage = names.TryGetValue(baseName.ToLowerInvariant(), out var earlier) ? earlier : null;
        return new BuildStage(index, name, baseName, baseStage, platform, from, body) { GlobalArguments = new Dictionary<string, string>(global, StringComparer.Ordinal) };
    }

    [System.Text.RegularExpressions.GeneratedRegex("^[a-z][a-z0-9-_.]*$")]
    private static partial System.Text.RegularExpressions.Regex StageName();
}
