using System.Text;

namespace Sdk.Containers.Supply;

/// <summary>A package of the distribution's package manager, as its database records it.</summary>
/// <param name="Manager">"deb" or "apk", the purl type.</param>
internal sealed record OsPackage(string Manager, string Name, string Version, string? Architecture, string Source);

/// <summary>What os-release says the distribution is (ID=debian, VERSION_ID=12).</summary>
internal sealed record OsRelease(string Id, string? VersionId, string? PrettyName)
{
    public static OsRelease? Parse(string text)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            var equals = line.IndexOf('=');
            if (line.StartsWith('#') || equals <= 0)
            {
                continue;
            }

            var value = line[(equals + 1)..].Trim();
            if (value.Length >= 2 && value[0] is '"' or '\'' && value[^1] == value[0])
            {
                value = value[1..^1].Replace("\\\"", "\"", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal);
            }

            fields[line[..equals]] = value;
        }

        return fields.TryGetValue("ID", out var id) && id.Length > 0
            ? new OsRelease(id.ToLowerInvariant(), fields.GetValueOrDefault("VERSION_ID"), fields.GetValueOrDefault("PRETTY_NAME"))
            : null;
    }
}

/// <summary>
/// The package databases of Debian's dpkg and Alpine's apk: "Field: value" stanzas separated by blank lines
/// (dpkg, continuation lines start with a space) and "K:value" records separated by blank lines (apk).
/// </summary>
internal static class OsPackageDatabase
{
    /// <summary>var/lib/dpkg/status, or one file of var/lib/dpkg/status.d (distroless, one package each, no Status
    /// field: what is there is installed). Only packages whose status is "installed" count; a package removed with
    /// its configuration kept ("deinstall ok config-files") is not in the image's software.</summary>
    public static IEnumerable<OsPackage> ReadDpkg(string text, string source, bool statusRequired)
    {
        foreach (var stanza in Stanzas(text))
        {
            var fields = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var line in stanza)
            {
                if (line[0] is ' ' or '\t')
                {
                    continue; // a continuation (Description, Conffiles): nothing we read
                }

                var colon = line.IndexOf(':');
                if (colon > 0)
                {
                    fields[line[..colon]] = line[(colon + 1)..].Trim();
                }
            }

            if (!fields.TryGetValue("Package", out var name) || !fields.TryGetValue("Version", out var version) || name.Length == 0 || version.Length == 0)
            {
                continue;
            }

            var status = fields.GetValueOrDefault("Status");
            var installed = status is null ? !statusRequired : status.Split(' ', StringSplitOptions.RemoveEmptyEntries) is [_, _, "installed"];
            if (installed)
            {
                yield return new OsPackage("deb", name, version, fields.GetValueOrDefault("Architecture"), source);
            }
        }
    }

    /// <summary>lib/apk/db/installed: every record there is installed.</summary>
    public static IEnumerable<OsPackage> ReadApk(string text, string source)
    {
        foreach (var stanza in Stanzas(text))
        {
            string? name = null, version = null, arch = null;
            foreach (var line in stanza)
            {
                if (line.Length < 2 || line[1] != ':')
                {
                    continue;
                }

                var value = line[2..].Trim();
                switch (line[0])
                {
                    case 'P': name = value; break;
                    case 'V': version = value; break;
                    case 'A': arch = value; break;
                }
            }

            if (name is { Length: > 0 } && version is { Length: > 0 })
            {
                yield return new OsPackage("apk", name, version, arch, source);
            }
        }
    }

    private static IEnumerable<List<string>> Stanzas(string text)
    {
        var stanza = new List<string>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Trim().Length == 0)
            {
                if (stanza.Count > 0)
                {
                    yield return stanza;
                    stanza = [];
                }

                continue;
            }

            stanza.Add(line);
        }

        if (stanza.Count > 0)
        {
            yield return stanza;
        }
    }

    public static string Text(ReadOnlyMemory<byte> data) => Encoding.UTF8.GetString(data.Span);
}
