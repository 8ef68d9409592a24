using System.Text;
using System.Text.RegularExpressions;

namespace Sdk.Containers.Dockerfiles;

/// <summary>A variable expansion that cannot be done: unterminated quotes, a bad substitution, ${v?message}.</summary>
public sealed class ShellExpansionException(string message) : Exception(message);

/// <summary>
/// Variable expansion and quote removal in Dockerfile words, as BuildKit's shell lexer does them: $v, ${v},
/// ${v:-w} ${v-w} ${v:+w} ${v+w} ${v:?m} ${v?m}, ${v#p} ${v##p} ${v%p} ${v%%p} (shell patterns), ${v/p/r} ${v//p/r};
/// single quotes are literal, double quotes expand, the escape character escapes.
/// </summary>
public sealed class ShellLexer(char escapeToken = '\\')
{
    /// <summary>The word with variables expanded and quotes removed (ENV, LABEL, WORKDIR, COPY paths, ...).</summary>
    public string ProcessWord(string word, IReadOnlyDictionary<string, string> environment)
        => new Scanner(word, environment, escapeToken).Process(stopChar: -1, rawEscapes: false).Result;

    /// <summary>The word split into words after expansion: unquoted white space from variables splits too.</summary>
    public IReadOnlyList<string> ProcessWords(string word, IReadOnlyDictionary<string, string> environment)
        => new Scanner(word, environment, escapeToken).Process(stopChar: -1, rawEscapes: false).Words;

    private sealed class Scanner(string text, IReadOnlyDictionary<string, string> environment, char escape)
    {
        private const int Eof = -1;
        private int _position;

        private int Peek() => _position < text.Length ? text[_position] : Eof;

        private int Next() => _position < text.Length ? text[_position++] : Eof;

        public (string Result, IReadOnlyList<string> Words) Process(int stopChar, bool rawEscapes)
        {
            var result = new StringBuilder();
            var words = new WordSplitter();
            while (Peek() != Eof)
            {
                var ch = Peek();
                if (stopChar != Eof && ch == stopChar)
                {
                    Next();
                    return (result.ToString(), words.Words());
                }

                if (ch == '$')
                {
                    var value = ProcessDollar();
                    result.Append(value);
                    words.AddString(value);
                    continue;
                }

                if (ch is '\'' or '"')
                {
                    var value = ch == '\'' ? ProcessSingleQuote() : ProcessDoubleQuote();
                    result.Append(value);
                    words.AddRawString(value);
                    continue;
                }

                ch = Next();
                if (ch == escape)
                {
                    if (rawEscapes)
                    {
                        words.AddRawChar((char)ch);
                        result.Append((char)ch);
                    }

                    ch = Next();
                    if (ch == Eof)
                    {
                        break;
                    }

                    words.AddRawChar((char)ch);
                }
                else
                {
                    words.AddChar((char)ch);
                }

                result.Append((char)ch);
            }

            if (stopChar != Eof)
            {
                throw new ShellExpansionException($"unexpected end of statement while looking for matching {(char)stopChar}");
            }

            return (result.ToString(), words.Words());
        }

        private string ProcessSingleQuote()
        {
            // Everything up to the next ' is literal; nothing can be escaped inside single quotes.
            Next();
            var result = new StringBuilder();
            while (true)
            {
                var ch = Next();
                if (ch == Eof)
                {
                    throw new ShellExpansionException("unexpected end of statement while looking for matching single-quote");
                }

                if (ch == '\'')
                {
                    return result.ToString();
                }

                result.Append((char)ch);
            }
        }

        private string ProcessDoubleQuote()
        {
            // Literal except $ and the escape character, which escapes only ", $ and itself.
            Next();
            var result = new StringBuilder();
            while (true)
            {
                switch (Peek())
                {
                    case Eof:
                        throw new ShellExpansionException("unexpected end of statement while looking for matching double-quote");
                    case '"':
                        Next();
                        return result.ToString();
                    case '$':
                        result.Append(ProcessDollar());
                        break;
                    default:
                        var ch = Next();
                        if (ch == escape)
                        {
                            var next = Peek();
                            if (next == Eof)
                            {
                                continue;
                            }

                            if (next == '"' || next == '$' || next == escape)
                            {
                                ch = Next();
                            }
                        }

                        result.Append((char)ch);
                        break;
                }
            }
        }

        private string ProcessDollar()
        {
            Next();
            if (Peek() != '{')
            {
                var name = ProcessName();
                return name.Length == 0 ? "$" : Lookup(name).Value;
            }

            Next();
            switch (Peek())
            {
                case Eof:
                    throw new ShellExpansionException("syntax error: missing '}'");
                case '{' or '}' or ':':
                    throw new ShellExpansionException("syntax error: bad substitution");
            }

            var variable = ProcessName();
            var ch = Next();
            var modifier = ch == Eof ? string.Empty : ((char)ch).ToString();
            var nullIsUnset = false;
            switch (ch)
            {
                case '}':
                    return Lookup(variable).Value;
                case '/':
                    return Replace(variable);
                case ':':
                    nullIsUnset = true;
                    ch = Next();
                    modifier += ch == Eof ? string.Empty : ((char)ch).ToString();
                    if (ch is not ('+' or '-' or '?'))
                    {
                        throw new ShellExpansionException($"unsupported modifier ({modifier}) in substitution");
                    }

                    break;
                case '+' or '-' or '?' or '#' or '%':
                    break;
                default:
                    throw new ShellExpansionException(ch == Eof ? "syntax error: missing '}'" : $"unsupported modifier ({modifier}) in substitution");
            }

            var rawEscapes = ch is '#' or '%';
            string word;
            try
            {
                word = Process('}', rawEscapes).Result;
            }
            catch (ShellExpansionException) when (Peek() == Eof)
            {
                throw new ShellExpansionException("syntax error: missing '}'");
            }

            var (value, set) = Lookup(variable);
            switch (ch)
            {
                case '-':
                    return !set || (nullIsUnset && value.Length == 0) ? word : value;
                case '+':
                    return !set || (nullIsUnset && value.Length == 0) ? string.Empty : word;
                case '?':
                    if (!set)
                    {
                        throw new ShellExpansionException($"{variable}: {(word.Length > 0 ? word : "is not allowed to be unset")}");
                    }

                    if (nullIsUnset && value.Length == 0)
                    {
                        throw new ShellExpansionException($"{variable}: {(word.Length > 0 ? word : "is not allowed to be empty")}");
                    }

                    return value;
                default:
                    var greedy = word.Length > 0 && word[0] == ch;
                    if (greedy)
                    {
                        word = word[1..];
                    }

                    return ch == '%' ? TrimSuffix(word, value, greedy) : TrimPrefix(word, value, greedy);
            }
        }

        private string Replace(string variable)
        {
            var all = Peek() == '/';
            if (all)
            {
                Next();
            }

            string pattern;
            string replacement;
            try
            {
                pattern = Process('/', rawEscapes: true).Result;
            }
            catch (ShellExpansionException) when (Peek() == Eof)
            {
                throw new ShellExpansionException("syntax error: missing '/' in ${}");
            }

            try
            {
                replacement = Process('}', rawEscapes: true).Result;
            }
            catch (ShellExpansionException) when (Peek() == Eof)
            {
                throw new ShellExpansionException("syntax error: missing '}'");
            }

            var (value, set) = Lookup(variable);
            if (!set)
            {
                return string.Empty;
            }

            var regex = ShellPattern.ToRegex(pattern, greedy: true, anchored: false);
            if (all)
            {
                try
                {
                    return regex.Replace(value, _ => replacement);
                }
                catch (RegexMatchTimeoutException)
                {
                    throw new ShellExpansionException($"the pattern ({pattern}) took too long to match");
                }
            }

            var match = ShellPattern.Match(regex, value);
            return match.Success ? value[..match.Index] + replacement + value[(match.Index + match.Length)..] : value;
        }

        private static string TrimPrefix(string pattern, string value, bool greedy)
        {
            var match = ShellPattern.Match(ShellPattern.ToRegex(pattern, greedy, anchored: true), value);
            return match.Success ? value[(match.Index + match.Length)..] : value;
        }

        // A regular expression cannot find the shortest match at the right end, so both sides are reversed.
        private static string TrimSuffix(string pattern, string value, bool greedy)
            => Reverse(TrimPrefix(ShellPattern.ReversePattern(pattern), Reverse(value), greedy));

        private static string Reverse(string value)
        {
            var chars = value.ToCharArray();
            Array.Reverse(chars);
            return new string(chars);
        }

        private string ProcessName()
        {
            var name = new StringBuilder();
            while (Peek() != Eof)
            {
                var ch = (char)Peek();
                if (name.Length == 0 && char.IsDigit(ch))
                {
                    while (Peek() != Eof && char.IsDigit((char)Peek()))
                    {
                        name.Append((char)Next());
                    }

                    return name.ToString();
                }

                if (name.Length == 0 && ch is '@' or '*' or '#' or '?' or '-' or '$' or '!' or '0')
                {
                    Next();
                    return ch.ToString();
                }

                if (!char.IsLetter(ch) && !char.IsDigit(ch) && ch != '_')
                {
                    break;
                }

                name.Append((char)Next());
            }

            return name.ToString();
        }

        private (string Value, bool Set) Lookup(string name)
            => environment.TryGetValue(name, out var value) ? (value, true) : (string.Empty, false);
    }

    /// <summary>Splits expanded text into words: unquoted white space separates, quoted text never does.</summary>
    private sealed class WordSplitter
    {
        private readonly List<string> _words = [];
        private readonly StringBuilder _word = new();
        private bool _inWord;

        public void AddChar(char ch)
        {
            if (char.IsWhiteSpace(ch))
            {
                if (_inWord && _word.Length > 0)
                {
                    _words.Add(_word.ToString());
                    _word.Clear();
                    _inWord = false;
                }
            }
            else
            {
                AddRawChar(ch);
            }
        }

        public void AddRawChar(char ch)
        {
            _word.Append(ch);
            _inWord = true;
        }

        public void AddString(string text)
        {
            foreach (var ch in text)
            {
                AddChar(ch);
            }
        }

        public void AddRawString(string text)
        {
            _word.Append(text);
            _inWord = true;
        }

        public IReadOnlyList<string> Words()
        {
            if (_word.Length > 0)
            {
                _words.Add(_word.ToString());
                _word.Clear();
                _inWord = false;
            }

            return _words;
        }
    }
}
