namespace Sdk.Containers.Dockerfiles;

/// <summary>A Dockerfile that cannot be parsed: the message names the file and the lines, and says what to fix.</summary>
public sealed class DockerfileSyntaxException(string file, int startLine, int endLine, string problem, int column = 0)
    : ContainerException(ErrorCodes.DockerfileSyntax, endLine > startLine
        ? $"{file}:{startLine}{(column > 0 ? $":{column}" : string.Empty)}-{endLine}: {problem}"
        : startLine > 0 ? $"{file}:{startLine}{(column > 0 ? $":{column}" : string.Empty)}: {problem}" : $"{file}: {problem}")
{
    public string File { get; } = file;

    public int StartLine { get; } = startLine;

    public int EndLine { get; } = endLine;

    /// <summary>1-based column on <see cref="StartLine"/> where the problem is, or 0 when it is the whole instruction.</summary>
    public int Column { get; } = column;

    public string Problem { get; } = problem;
}
