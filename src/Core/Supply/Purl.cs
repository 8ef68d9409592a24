using System.Text;

namespace Sdk.Containers.Supply;

/// <summary>
/// Package URLs (github.com/package-url/purl-spec): pkg:type/namespace/name@version?qualifiers, each part
/// percent-encoded, qualifiers in key order as the spec's canonical form has them.
/// </summary>
public static class Purl
{
    public static string Create(string type, string? ns, string name, string? version, IEnumerable<KeyValuePair<string, string?>>? qualifiers = null)
    {
        var text = new StringBuilder("pkg:").Append(type).Append('/');
        if (!string.IsNullOrEmpty(ns))
        {
            foreach (var segment in ns.Split('/', StringSplitOptions.RemoveEmptyEntries))
            {
                text.Append(Encode(segment)).Append('/');
            }
        }

        text.Append(Encode(name));
        if (!string.IsNullOrEmpty(version))
        {
            text.Append('@').Append(Encode(version));
        }

        var present = (qualifiers ?? []).Where(q => !string.IsNullOrEmpty(q.Value)).OrderBy(q => q.Key, StringComparer.Ordinal).ToList();
        for (var i = 0; i < present.Count; i++)
        {
            text.Append(i == 0 ? '?' : '&').Append(present[i].Key).Append('=').Append(Encode(present[i].Value!, keepSlash: true));
        }

        return text.ToString();
    }

    public static string NuGet(string id, string version) => Create("nuget", null, id, version);

    /// <summary>Percent-encodes all but the unreserved characters (and ':' as the spec allows; '/' in qualifier values
    /// such as repository_url).</summary>
    private static string Encode(string value, bool keepSlash = false)
    {
        var text = new StringBuilder(value.Length);
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            var c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or '~' or ':' || (keepSlash && c == '/'))
            {
                text.Append(c);
            }
            else
            {
                text.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return text.ToString();
    }
}
