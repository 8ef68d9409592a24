using System.Text;
using System.Text.RegularExpressions;

namespace Sdk.Containers.Dockerfiles;

/// <summary>Shell wildcard patterns (* ? [...] and escapes) as regular expressions.</summary>
internal static class ShellPattern
{
    public static Regex ToRegex(string pattern, bool greedy, bool anchored)
    {
        var regex = new StringBuilder(anchored ? "^" : string.Empty);
        var star = greedy ? ".*" : ".*?";
        for (var i = 0; i < pattern.Length; i++)
        {
            var ch = pattern[i];
            switch (ch)
            {
                case '*':
                    regex.Append(star);
                    break;
                case '?':
                    regex.Append('.');
                    break;
                case '\\':
                    if (i + 1 >= pattern.Length)
                    {
                        throw new ShellExpansionException($"invalid pattern ({pattern}) in substitution: trailing backslash");
                    }

                    regex.Append(Regex.Escape(pattern[++i].ToString()));
                    break;
                case '[':
                    // A class needs at least one member before its ']'; otherwise '[' is literal.
                    var end = i + 2 <= pattern.Length ? pattern.IndexOf(']', i + 2) : -1;
                    if (end < 0)
                    {
                        regex.Append(Regex.Escape("["));
                        break;
                    }

                    var set = pattern[(i + 1)..end];
                    regex.Append('[').Append(set.StartsWith('!') ? "^" + EscapeSet(set[1..]) : EscapeSet(set)).Append(']');
                    i = end;
                    break;
                default:
                    regex.Append(Regex.Escape(ch.ToString()));
                    break;
            }
        }

        try
        {
            return new Regex(regex.ToString(), RegexOptions.CultureInvariant | RegexOptions.Singleline, TimeSpan.FromSeconds(1));
        }
        catch (ArgumentException ex)
        {
            throw new ShellExpansionException($"invalid pattern ({pattern}) in substitution: {ex.Message}");
        }
    }

    public static Match Match(Regex regex, string value)
    {
        try
        {
            return regex.Match(value);
        }
        catch (RegexMatchTimeoutException)
        {
            throw new ShellExpansionException($"the pattern ({regex}) took too long to match");
        }
    }

    private static string EscapeSet(string set) => set.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("[", "\\[", StringComparison.Ordinal);

    /// <summary>Reverses a pattern, keeping each escape with the character it escapes.</summary>
    public static string ReversePattern(string pattern)
    {
        var tokens = new List<string>();
        for (var i = 0; i < pattern.Length; i++)
        {
            tokens.Add(pattern[i] == '\\' && i + 1 < pattern.Length ? pattern.Substring(i++, 2) : pattern[i].ToString());
        }

        tokens.Reverse();
        return string.Concat(tokens);
    }
}
