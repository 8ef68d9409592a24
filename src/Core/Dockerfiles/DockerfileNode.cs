using System.Text;

namespace Sdk.Containers.Dockerfiles;

/// <summary>
/// One node of a parsed Dockerfile, shaped like BuildKit's: an instruction node holds its name, flags and a chain of
/// argument nodes through <see cref="Next"/>; ONBUILD holds its inner instruction as a child of its first argument.
/// </summary>
public sealed class DockerfileNode
{
    public string Value { get; set; } = string.Empty;

    public DockerfileNode? Next { get; set; }

    public List<DockerfileNode> Children { get; } = [];

    public IReadOnlyList<string> Flags { get; set; } = [];

    /// <summary>The instruction exactly as written after continuations were joined (for errors and history).</summary>
    public string Original { get; set; } = string.Empty;

    public bool IsJson { get; set; }

    /// <summary>Here-documents of RUN, COPY and ADD (`&lt;&lt;EOF` … `EOF`), in the order they appear.</summary>
    public List<Heredoc> Heredocs { get; } = [];

    public int StartLine { get; set; }

    public int EndLine { get; set; }

    /// <summary>The arguments in order, following <see cref="Next"/>.</summary>
    public IEnumerable<string> Arguments
    {
        get
        {
            for (var node = Next; node is not null; node = node.Next)
            {
                yield return node.Value;
            }
        }
    }

    /// <summary>BuildKit's Node.Dump: the format of the parser conformance results.</summary>
    public string Dump()
    {
        var text = new StringBuilder(Value.ToLowerInvariant());
        if (Flags.Count > 0)
        {
            text.Append(" [").Append(string.Join(' ', Flags.Select(GoQuote.Quote))).Append(']');
        }

        foreach (var child in Children)
        {
            text.Append('(').Append(child.Dump()).Append(")\n");
        }

        for (var node = Next; node is not null; node = node.Next)
        {
            text.Append(' ').Append(node.Children.Count > 0 ? node.Dump() : GoQuote.Quote(node.Value));
        }

        return text.ToString().Trim();
    }
}

/// <summary>A here-document: its delimiter, its lines (with newlines), and whether variables in it are expanded.</summary>
/// <param name="Expand">False when the delimiter was quoted ('EOF' or "EOF"), as in the shell.</param>
/// <param name="Chomp">`&lt;&lt;-EOF`: leading tabs were removed from every line.</param>
public sealed record Heredoc(string Name, string Content, bool Expand, bool Chomp);

/// <summary>A parsed Dockerfile: its instructions and the escape character its directive chose.</summary>
public sealed record DockerfileAst(IReadOnlyList<DockerfileNode> Instructions, char EscapeToken, string? Syntax)
{
    public int StartLine => Instructions.Count == 0 ? 0 : Instructions[0].StartLine;

    public int EndLine => Instructions.Count == 0 ? 0 : Instructions[^1].EndLine;

    public string Dump() => string.Concat(Instructions.Select(i => $"({i.Dump()})\n"));
}
