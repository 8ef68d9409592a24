using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Sdk.Containers.Dockerfiles;

/// <summary>Instruction lines into nodes: JSON and shell forms, flags, name=value pairs, words as BuildKit splits them.</summary>
public static partial class DockerfileParser
{
    /// <summary>One instruction line (continuations joined) into its node.</summary>
    internal static DockerfileNode ParseInstruction(string line, char escape)
    {
        var parts = Whitespace().Split(line.Trim(), 2);
        var command = parts[0];
        var flags = new List<string>();
        var args = string.Empty;
        if (parts.Length == 2)
        {
            (args, flags) = ExtractFlags(parts[1]);
        }

        args = args.Trim();
        var node = new DockerfileNode { Value = command.ToLowerInvariant(), Flags = flags, Original = line };
        var (arguments, json) = node.Value switch
        {
            "add" or "copy" or "volume" => MaybeJsonToList(args, escape),
            "cmd" or "entrypoint" or "run" or "shell" => MaybeJson(args),
            "env" => (NameValue(args, "ENV", escape), false),
            "label" => (NameValue(args, "LABEL", escape), false),
            "arg" => (Chain(ParseWords(args, escape)), false),
            "expose" or "from" => (Chain(SplitWhitespace(args)), false),
            "maintainer" or "stopsignal" or "user" or "workdir" => (args.Length == 0 ? null : new DockerfileNode { Value = args }, false),
            "healthcheck" => HealthCheck(args),
            "onbuild" => (OnBuild(args, escape), false),
            _ => (null, false),
        };
        node.Next = arguments;
        node.IsJson = json;
        return node;
    }

    private static DockerfileNode? Chain(IEnumerable<string> values)
    {
        DockerfileNode? head = null;
        DockerfileNode? tail = null;
        foreach (var value in values)
        {
            var node = new DockerfileNode { Value = value };
            if (head is null)
            {
                head = node;
            }
            else
            {
                tail!.Next = node;
            }

            tail = node;
        }

        return head;
    }

    private static string[] SplitWhitespace(string text) => text.Length == 0 ? [] : Whitespace().Split(text);

    private static (DockerfileNode? Node, bool Json) MaybeJson(string args)
    {
        if (args.Length == 0)
        {
            return (null, false);
        }

        return TryJson(args) is { } list ? (Chain(list), true) : (new DockerfileNode { Value = args }, false);
    }

    private static (DockerfileNode? Node, bool Json) MaybeJsonToList(string args, char escape)
        => TryJson(args) is { } list ? (Chain(list), true) : (Chain(SplitWhitespace(args)), false);

    /// <summary>
    /// The exec form: a JSON array of strings. Anything that is not JSON is the shell form; a JSON array holding
    /// something other than strings is an error, as in BuildKit.
    /// </summary>
    private static List<string>? TryJson(string args)
    {
        var text = args.TrimStart();
        if (!text.StartsWith('['))
        {
            return null;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text);
        }
        catch (JsonException)
        {
            return null;
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Array)
            {
                return null;
            }

            var list = new List<string>();
            foreach (var element in document.RootElement.EnumerateArray())
            {
                if (element.ValueKind != JsonValueKind.String)
                {
                    throw new FormatException("the exec form (a JSON array) must hold only strings, such as [\"executable\", \"arg\"].");
                }

                list.Add(element.GetString()!);
            }

            return list;
        }
    }

    private static (DockerfileNode? Node, bool Json) HealthCheck(string args)
    {
        var separator = 0;
        while (separator < args.Length && !char.IsWhiteSpace(args[separator]))
        {
            separator++;
        }

        if (separator == 0)
        {
            return (null, false);
        }

        var next = separator;
        while (next < args.Length && char.IsWhiteSpace(args[next]))
        {
            next++;
        }

        var (command, json) = MaybeJson(args[next..]);
        return (new DockerfileNode { Value = args[..separator], Next = command }, json);
    }

    private static DockerfileNode? OnBuild(string args, char escape)
    {
        if (args.Length == 0)
        {
            return null;
        }

        var inner = ParseInstruction(args, escape);
        var holder = new DockerfileNode();
        holder.Children.Add(inner);
        return holder;
    }

    /// <summary>ENV and LABEL: `KEY value` (the old form) or `key=value ...`, told apart by the first word.</summary>
    private static DockerfileNode? NameValue(string args, string instruction, char escape)
    {
        var words = ParseWords(args, escape);
        if (words.Count == 0)
        {
            throw new FormatException($"{instruction} needs a name and a value, such as {instruction} name=value.");
        }

        if (!words[0].Contains('='))
        {
            var parts = Whitespace().Split(args, 2);
            if (parts.Length < 2)
            {
                throw new FormatException($"{instruction} {args} has no value; write {instruction} {args}=value or {instruction} {args} value.");
            }

            return Chain([parts[0], parts[1], string.Empty]);
        }

        var values = new List<string>();
        foreach (var word in words)
        {
            var equals = word.IndexOf('=');
            if (equals < 0)
            {
                throw new FormatException($"'{word}' has no '='; in this form every item of {instruction} must be name=value.");
            }

            values.AddRange([word[..equals], word[(equals + 1)..], "="]);
        }

        return Chain(values);
    }

    /// <summary>
    /// Splits on white space outside quotes, keeping quotes and escape characters in the words (they are removed
    /// later, by expansion), as BuildKit's parseWords does.
    /// </summary>
    internal static List<string> ParseWords(string rest, char escape)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        var inWord = false;
        var quote = '\0';
        var blankOk = false;
        for (var pos = 0; pos < rest.Length; pos++)
        {
            var ch = rest[pos];
            if (!inWord && quote == '\0')
            {
                if (char.IsWhiteSpace(ch))
                {
                    continue;
                }

                inWord = true;
            }

            if (quote == '\0')
            {
                if (char.IsWhiteSpace(ch))
                {
                    if (blankOk || word.Length > 0)
                    {
                        words.Add(word.ToString());
                    }

                    word.Clear();
                    blankOk = false;
                    inWord = false;
                    continue;
                }

                if (ch is '\'' or '"')
                {
                    quote = ch;
                    blankOk = true;
                }
                else if (ch == escape)
                {
                    if (pos + 1 == rest.Length)
                    {
                        continue;
                    }

                    word.Append(ch);
                    ch = rest[++pos];
                }

                word.Append(ch);
                continue;
            }

            if (ch == quote)
            {
                quote = '\0';
            }
            else if (ch == escape && quote != '\'')
            {
                if (pos + 1 == rest.Length)
                {
                    quote = '\0';
                    continue;
                }

                word.Append(ch);
                ch = rest[++pos];
            }

            word.Append(ch);
        }

        if ((inWord || quote != '\0') && (blankOk || word.Length > 0))
        {
            words.Add(word.ToString());
        }

        return words;
    }

    /// <summary>Leading --name=value flags of an instruction; `--` ends them. Returns the rest and the flags.</summary>
    private static (string Remainder, List<string> Flags) ExtractFlags(string line)
    {
        var flags = new List<string>();
        var word = new StringBuilder();
        var phase = 0; // 0: between words, 1: in a word, 2: in quotes
        var quote = '\0';
        var blankOk = false;
        for (var pos = 0; pos <= line.Length; pos++)
        {
            var atEnd = pos == line.Length;
            var ch = atEnd ? '\0' : line[pos];
            if (phase == 0)
            {
                if (atEnd)
                {
                    break;
                }

                if (char.IsWhiteSpace(ch))
                {
                    continue;
                }

                if (ch != '-' || pos + 1 == line.Length || line[pos + 1] != '-')
                {
                    return (line[pos..], flags);
                }

                phase = 1;
            }

            if (atEnd)
            {
                if (word.ToString() != "--" && (blankOk || word.Length > 0))
                {
                    flags.Add(word.ToString());
                }

                break;
            }

            if (phase == 1)
            {
                if (char.IsWhiteSpace(ch))
                {
                    phase = 0;
                    if (word.ToString() == "--")
                    {
                        return (line[pos..], flags);
                    }

                    if (blankOk || word.Length > 0)
                    {
                        flags.Add(word.ToString());
                    }

                    word.Clear();
                    blankOk = false;
                    continue;
                }

                if (ch is '\'' or '"')
                {
                    quote = ch;
                    blankOk = true;
                    phase = 2;
                    continue;
                }

                if (ch == '\\')
                {
                    if (pos + 1 == line.Length)
                    {
                        continue;
                    }

                    ch = line[++pos];
                }

                word.Append(ch);
                continue;
            }

            if (ch == quote)
            {
                phase = 1;
                continue;
            }

            if (ch == '\\')
            {
                if (pos + 1 == line.Length)
                {
                    phase = 1;
                    continue;
                }

                ch = line[++pos];
            }

            word.Append(ch);
        }

        return (string.Empty, flags);
    }

    /// <summary>Parser directives: only at the very top, each once; the first line that is not one ends them.</summary>
    private sealed class State
    {
        private readonly HashSet<string> _seen = new(StringComparer.OrdinalIgnoreCase);
        private bool _done;

        public char EscapeToken { get; private set; } = '\\';

        public string? Syntax { get; private set; }

        public void ObserveDirective(string line, string file, int lineNumber)
        {
            if (_done)
            {
                return;
            }

            var match = DirectivePattern().Match(line.TrimEnd('\r'));
            if (!match.Success || !KnownDirectives.Contains(match.Groups[1].Value))
            {
                _done = true;
                return;
            }

            var name = match.Groups[1].Value.ToLowerInvariant();
            if (!_seen.Add(name))
            {
                throw new DockerfileSyntaxException(file, lineNumber, lineNumber, $"the parser directive '{name}' appears twice; keep one.");
            }

            var value = match.Groups[2].Value;
            switch (name)
            {
                case "escape":
                    EscapeToken = value switch
                    {
                        "\\" => '\\',
                        "`" => '`',
                        _ => throw new DockerfileSyntaxException(file, lineNumber, lineNumber, $"the escape directive is '{value}'; it must be \\ or `."),
                    };
                    break;
                case "syntax":
                    Syntax = value;
                    break;
            }
        }
    }
}
