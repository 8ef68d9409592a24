using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Sdk.Containers.Dockerfiles;

/// <summary>
/// Parses a Dockerfile into instructions the way BuildKit's frontend parser does, phase for phase: parser directives
/// (syntax, escape, check) at the top, comments, line continuations (skipping comment and blank lines inside them),
/// then each instruction's arguments by the rule of that instruction (JSON or shell form, whitespace lists, key=value
/// pairs, HEALTHCHECK, ONBUILD). Variables are expanded in a later step, not here.
/// </summary>
public static partial class DockerfileParser
{
    private static readonly HashSet<string> KnownDirectives = new(StringComparer.OrdinalIgnoreCase) { "syntax", "escape", "check" };

    public static DockerfileAst Parse(string text, string file = "Dockerfile")
    {
        var state = new State();
        var lines = SplitLines(text);
        var instructions = new List<DockerfileNode>();
        var index = 0;
        while (index < lines.Count)
        {
            var raw = index == 0 ? lines[0].TrimStart('\uFEFF') : lines[0 + index];
            state.ObserveDirective(raw.TrimStart(), file, index + 1);
            var first = ProcessLine(raw, stripLeft: true);
            index++;
            var startLine = index;
            var (line, complete) = TrimContinuation(first, state.EscapeToken);
            if (complete && line.Length == 0)
            {
                continue;
            }

            while (!complete && index < lines.Count)
            {
                var next = lines[index];
                state.ObserveDirective(next, file, index + 1);
                index++;
                if (IsComment(next))
                {
                    continue;
                }

                var processed = ProcessLine(next, stripLeft: false);
                if (processed.TrimStart().Length == 0)
                {
                    continue;
                }

                (var continuation, complete) = TrimContinuation(processed, state.EscapeToken);
                line += continuation;
            }

            DockerfileNode node;
            try
            {
                node = ParseInstruction(line, state.EscapeToken);
            }
            catch (FormatException ex)
            {
                throw new DockerfileSyntaxException(file, startLine, index, ex.Message);
            }

            if (node.Value is "run" or "copy" or "add" && !node.IsJson)
            {
                foreach (var (name, chomp, expand) in HeredocNames(line))
                {
                    var content = new StringBuilder();
                    var terminated = false;
                    while (index < lines.Count)
                    {
                        var body = lines[index].TrimEnd('\r');
                        index++;
                        if (chomp)
                        {
                            body = body.TrimStart('\t');
                        }

                        if (body == name)
                        {
                            terminated = true;
                            break;
                        }

                        content.Append(body).Append('\n');
                    }

                    if (!terminated)
                    {
                        var at = lines[startLine - 1].IndexOf("<<", StringComparison.Ordinal);
                        throw new DockerfileSyntaxException(file, startLine, index, $"the here-document <<{name} is not terminated: add a line holding only {name}.", at + 1);
                    }

                    node.Heredocs.Add(new Heredoc(name, content.ToString(), expand, chomp));
                }
            }

            node.StartLine = startLine;
            node.EndLine = index;
            instructions.Add(node);
        }

        if (instructions.Count == 0)
        {
            throw new DockerfileSyntaxException(file, 0, 0, "the file has no instructions; a Dockerfile needs at least a FROM.");
        }

        return new DockerfileAst(instructions, state.EscapeToken, state.Syntax);
    }

    /// <summary>Lines as Go's bufio scanner with BuildKit's split function gives them: split on \n, \r\n kept apart.</summary>
    private static List<string> SplitLines(string text)
    {
        var lines = text.Split('\n').ToList();
        if (lines.Count > 0 && lines[^1].Length == 0)
        {
            lines.RemoveAt(lines.Count - 1);
        }

        return lines;
    }

    private static string ProcessLine(string line, bool stripLeft)
    {
        line = line.TrimEnd('\r', '\n');
        if (stripLeft)
        {
            line = line.TrimStart();
        }

        return IsComment(line) ? string.Empty : line;
    }

    private static bool IsComment(string line)
    {
        var trimmed = line.TrimStart();
        return trimmed.Length > 0 && trimmed[0] == '#';
    }

    /// <summary>
    /// An escape character at the end of a line (trailing blanks aside) continues it, unless it is itself escaped
    /// (`\` at the end is a literal backslash), as in BuildKit.
    /// </summary>
    private static (string Line, bool Complete) TrimContinuation(string line, char escape)
    {
        var match = ContinuationPattern(escape).Match(line);
        return match.Success ? (line[..match.Index] + match.Groups[1].Value, false) : (line, true);
    }

    private static Regex ContinuationPattern(char escape) => escape == '`' ? BacktickContinuation() : BackslashContinuation();

    [GeneratedRegex(@"([^\\])\\[ \t]*$|^\\[ \t]*$")]
    private static partial Regex BackslashContinuation();

    [GeneratedRegex(@"([^`])`[ \t]*$|^`[ \t]*$")]
    private static partial Regex BacktickContinuation();

    [GeneratedRegex(@"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")]
    private static partial Regex DirectivePattern();

    [GeneratedRegex(@"[\t\v\f\r ]+")]
    private static partial Regex Whitespace();

    [GeneratedRegex(@"<<(-?)(['""]?)([A-Za-z_][A-Za-z0-9_]*)\2")]
    private static partial Regex HeredocMarker();

    /// <summary>
    /// The here-documents an instruction opens, left to right: `&lt;&lt;EOF`, `&lt;&lt;-EOF` (strip leading tabs),
    /// `&lt;&lt;'EOF'` or `&lt;&lt;"EOF"` (no expansion). Markers inside quotes are not here-documents.
    /// </summary>
    private static IEnumerable<(string Name, bool Chomp, bool Expand)> HeredocNames(string line)
    {
        foreach (Match match in HeredocMarker().Matches(line))
        {
            if (!InsideQuotes(line, match.Index))
            {
                yield return (match.Groups[3].Value, match.Groups[1].Value == "-", match.Groups[2].Value.Length == 0);
            }
        }
    }

    private static bool InsideQuotes(string line, int position)
    {
        var quote = '\0';
        for (var i = 0; i < position; i++)
        {
            var ch = line[i];
            if (quote == '\0' && ch is '\'' or '"')
            {
                quote = ch;
            }
            else if (ch == quote)
            {
                quote = '\0';
            }
        }

        return quote != '\0';
    }
}
