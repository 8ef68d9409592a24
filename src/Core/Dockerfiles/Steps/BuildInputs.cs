using Sdk.Containers.Images;
using Sdk.Containers.Sources;

namespace Sdk.Containers.Dockerfiles;

/// <summary>What a build was asked to do, read once before any step: the request, the parsed Dockerfile and its
/// stages, the platforms, and the build context.</summary>
internal sealed class BuildInputs
{
    private readonly string _contextDirectory;
    private readonly string _dockerfile;
    private readonly DockerfileErrors _errors;
    private SourceTree? _context;

    public BuildInputs(DockerfileBuildRequest request, DockerfileAst ast, string file, DockerfileErrors errors, IReadOnlyList<BuildStage> stages, Platform target, Platform host, string contextDirectory, string dockerfile)
    {
        Request = request;
        Ast = ast;
        File = file;
        _errors = errors;
        Stages = stages;
        Target = target;
        Host = host;
        _contextDirectory = contextDirectory;
        _dockerfile = dockerfile;
    }

    public DockerfileBuildRequest Request { get; }

    public DockerfileAst Ast { get; }

    /// <summary>The Dockerfile as messages name it.</summary>
    public string File { get; }

    public IReadOnlyList<BuildStage> Stages { get; }

    public Platform Target { get; }

    public Platform Host { get; }

    public SourceTree Context => _context ??= new SourceTree(_contextDirectory, DockerIgnore.ForBuild(_contextDirectory, _dockerfile), "the build context", isContext: true);

    /// <summary>A problem with an instruction: file, line, column (of <paramref name="near"/> when given) and what to do.</summary>
    public DockerfileSyntaxException Error(DockerfileNode instruction, string problem, string? near = null) => _errors.Error(instruction, problem, near);

    public string Where(DockerfileNode instruction) => $"{File}:{instruction.StartLine}";

    /// <summary>A word of an instruction with the stage's variables expanded, as BuildKit expands it.</summary>
    public string Expand(DockerfileNode instruction, string word, IReadOnlyDictionary<string, string> scope)
    {
        try
        {
            return new ShellLexer(Ast.EscapeToken).ProcessWord(word, scope);
        }
        catch (ShellExpansionException ex)
        {
            throw Error(instruction, ex.Message, word);
        }
    }

    /// <summary>The instruction's flags, each checked to be one of <paramref name="allowed"/>.</summary>
    public List<(string Name, string Value)> Flags(DockerfileNode instruction, string[] allowed)
        => InstructionChecks.Flags(instruction, allowed, (problem, near) => Error(instruction, problem, near));

    /// <summary>A USER (name or id, with an optional group) as the stage's /etc/passwd and /etc/group resolve it.</summary>
    public ResolvedUser ResolveUser(DockerfileNode instruction, string rootfs, string user)
        => UserDatabase.Read(rootfs).ResolveUser(user, problem => Error(instruction, problem + "."));

    /// <summary>A stage by name or index, as COPY --from and RUN --mount from= name it; null when it is no stage.</summary>
    public int? FindStage(string name, int before)
    {
        if (int.TryParse(name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number))
        {
            return number < before ? number : null;
        }

        return Stages.Take(before).FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase))?.Index;
    }

    /// <summary>A named context that names an image (docker-image://, oci-layout://, docker-archive://).</summary>
    public ImageSource? NamedImage(string name)
    {
        if (!Request.NamedContexts.TryGetValue(name, out var value))
        {
            return null;
        }

        foreach (var (scheme, prefix) in new[] { ("docker-image://", string.Empty), ("oci-layout://", "oci:"), ("docker-archive://", "docker-archive:") })
        {
            if (value.StartsWith(scheme, StringComparison.Ordinal))
            {
                return ImageSource.Parse(prefix + value[scheme.Length..]);
            }
        }

        return null;
    }

    /// <summary>A named context that is a local directory, for COPY --from.</summary>
    public SourceTree? NamedDirectory(string name)
        => Request.NamedContexts.TryGetValue(name, out var value) && Directory.Exists(value)
            ? new SourceTree(Path.GetFullPath(value), DockerIgnore.Empty, $"the context '{name}'", isContext: true)
            : null;
}

/// <summary>Errors that point into the Dockerfile: file, line and column, and what to do.</summary>
internal sealed class DockerfileErrors(string file, string[] lines)
{
    /// <summary>A problem with an instruction: file, line, column (of <paramref name="near"/> when given) and what to do.</summary>
    public DockerfileSyntaxException Error(DockerfileNode instruction, string problem, string? near = null)
    {
        var column = 0;
        if (near is not null && instruction.StartLine > 0 && instruction.StartLine <= lines.Length)
        {
            for (var line = instruction.StartLine; line <= Math.Min(instruction.EndLine, lines.Length); line++)
            {
                var at = lines[line - 1].IndexOf(near, StringComparison.Ordinal);
                if (at >= 0)
                {
                    return new DockerfileSyntaxException(file, line, line, problem, at + 1);
                }
            }
        }

        if (instruction.StartLine > 0 && instruction.StartLine <= lines.Length)
        {
            column = lines[instruction.StartLine - 1].Length - lines[instruction.StartLine - 1].TrimStart().Length + 1;
        }

        return new DockerfileSyntaxException(file, instruction.StartLine, instruction.EndLine, problem, column);
    }
}
