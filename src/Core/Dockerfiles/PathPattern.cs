using System.Text;
using System.Text.RegularExpressions;

namespace Sdk.Containers.Dockerfiles;

/// <summary>
/// Path patterns as Docker reads them, turned into anchored regular expressions: '*' and '?' stay within one path
/// element and '\' escapes the next character. A .dockerignore (moby/patternmatcher) adds '**' for any number of
/// elements and hands '[' and ']' to the regular expression as written; a COPY source follows Go's filepath.Match,
/// whose classes may be negated with '^' or '!' and must be closed.
/// </summary>
internal static class PathPattern
{
    public static string ToRegex(string pattern, bool dockerIgnore)
    {
        var regex = new StringBuilder("^");
        for (var i = 0; i < pattern.Length; i++)
        {
            var ch = pattern[i];
            switch (ch)
            {
                case '*' when dockerIgnore && i + 1 < pattern.Length && pattern[i + 1] == '*':
                    i++;
                    if (i + 1 < pattern.Length && pattern[i + 1] == '/')
                    {
                        i++;
                    }

                    regex.Append(i + 1 >= pattern.Length ? ".*" : "(.*/)?");
                    break;
                case '*':
                    regex.Append("[^/]*");
                    break;
                case '?':
                    regex.Append("[^/]");
                    break;
                case '\\':
                    regex.Append(i + 1 < pattern.Length ? Regex.Escape(pattern[++i].ToString()) : @"\\");
                    break;
                case '[' or ']' when dockerIgnore:
                    regex.Append(ch);
                    break;
                case '[':
                    var end = pattern.IndexOf(']', i + 1);
                    if (end < 0)
                    {
                        throw new ContainerException(ErrorCodes.BadGlob, $"the pattern '{pattern}' has a '[' without a closing ']'.");
                    }

                    var body = pattern[(i + 1)..end];
                    regex.Append('[').Append(body.StartsWith('^') || body.StartsWith('!') ? "^" + body[1..] : body).Append(']');
                    i = end;
                    break;
                default:
                    regex.Append(Regex.Escape(ch.ToString()));
                    break;
            }
        }

        return regex.Append('$').ToString();
    }

    /// <summary>Go's filepath.Clean for '/'-separated paths.</summary>
    internal static string Clean(string path)
    {
        var rooted = path.StartsWith('/');
        var parts = new List<string>();
        foreach (var part in path.Split('/'))
        {
            if (part.Length == 0 || part == ".")
            {
                continue;
            }

            if (part == ".." && parts.Count > 0 && parts[^1] != "..")
            {
                parts.RemoveAt(parts.Count - 1);
            }
            else if (part != ".." || !rooted)
            {
                parts.Add(part);
            }
        }

        var joined = string.Join('/', parts);
        return rooted ? "/" + joined : joined.Length == 0 ? "." : joined;
    }
}
