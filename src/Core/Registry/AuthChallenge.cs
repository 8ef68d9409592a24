using System.Net.Http.Headers;

namespace Sdk.Containers.Registry;

/// <summary>A WWW-Authenticate challenge: Basic, or Bearer with realm, service and scope.</summary>
public sealed record AuthChallenge(string Scheme, IReadOnlyDictionary<string, string> Parameters)
{
    public string? Realm => Parameters.GetValueOrDefault("realm");

    public string? Service => Parameters.GetValueOrDefault("service");

    public string? Scope => Parameters.GetValueOrDefault("scope");

    public bool IsBearer => Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase);

    public bool IsBasic => Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase);

    public static AuthChallenge? From(HttpResponseMessage response)
    {
        foreach (var header in response.Headers.WwwAuthenticate)
        {
            if (Parse(header) is { } challenge && (challenge.IsBearer || challenge.IsBasic))
            {
                return challenge;
            }
        }

        return null;
    }

    public static AuthChallenge? Parse(AuthenticationHeaderValue header)
        => new(header.Scheme, ParseParameters(header.Parameter ?? string.Empty));

    /// <summary>Parses key="value", key=value pairs; values may hold commas inside quotes (scopes do).</summary>
    internal static Dictionary<string, string> ParseParameters(string text)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var i = 0;
        while (i < text.Length)
        {
            while (i < text.Length && (text[i] == ',' || char.IsWhiteSpace(text[i])))
            {
                i++;
            }

            var eq = text.IndexOf('=', i);
            if (eq < 0)
            {
                break;
            }

            var key = text[i..eq].Trim();
            i = eq + 1;
            string value;
            if (i < text.Length && text[i] == '"')
            {
                var builder = new System.Text.StringBuilder();
                i++;
                while (i < text.Length && text[i] != '"')
                {
                    if (text[i] == '\\' && i + 1 < text.Length)
                    {
                        i++;
                    }

                    builder.Append(text[i++]);
                }

                i++;
                value = builder.ToString();
            }
            else
            {
                var end = text.IndexOf(',', i);
                value = (end < 0 ? text[i..] : text[i..end]).Trim();
                i = end < 0 ? text.Length : end;
            }

            result[key] = value;
        }

        return result;
    }
}
