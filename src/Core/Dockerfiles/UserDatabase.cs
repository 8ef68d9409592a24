using System.Globalization;
using Sdk.Containers.Unpacking;

namespace Sdk.Containers.Dockerfiles;

/// <summary>A user as a process runs: uid, primary gid and the other groups /etc/group lists it in.</summary>
public sealed record ResolvedUser(int Uid, int Gid, IReadOnlyList<int> AdditionalGids, string? Home);

/// <summary>A name an owner gives that the image does not define: <paramref name="Kind"/> is "user" (not in
/// /etc/passwd) or "group" (not in /etc/group).</summary>
public sealed record UnknownAccount(string Kind, string Name)
{
    public string File => Kind == "user" ? "/etc/passwd" : "/etc/group";
}

/// <summary>
/// Names in USER, --chown and WORKDIR (and the publish path's file owners) resolved through an image's /etc/passwd
/// and /etc/group, as Docker does: numbers are taken as they are, names must exist.
/// </summary>
public sealed class UserDatabase
{
    private readonly List<string[]> _passwd;
    private readonly List<string[]> _group;

    private UserDatabase(List<string[]> passwd, List<string[]> group)
    {
        _passwd = passwd;
        _group = group;
    }

    /// <summary>No /etc/passwd and no /etc/group: only numbers resolve.</summary>
    public static UserDatabase Empty { get; } = new([], []);

    public static UserDatabase Read(string rootfs)
        => new(ReadTable(rootfs, "etc/passwd"), ReadTable(rootfs, "etc/group"));

    /// <summary>From the texts of /etc/passwd and /etc/group (null: the image has none), as a base's layers hold them.</summary>
    public static UserDatabase Parse(string? passwd, string? group)
        => new(ParseTable(passwd?.Split('\n') ?? []), ParseTable(group?.Split('\n') ?? []));

    /// <summary>The user names /etc/passwd defines, in its order (for messages that say what would resolve).</summary>
    public IEnumerable<string> UserNames => _passwd.Select(p => p[0]);

    /// <summary>USER's value ("name", "uid", "name:group", "uid:gid") for running a command.</summary>
    public ResolvedUser ResolveUser(string spec, Func<string, ContainerException> error)
    {
        if (string.IsNullOrEmpty(spec))
        {
            // No USER: root, whether or not the image has an /etc/passwd.
            return FindUser("root") is { } root ? ResolveUser("root", error) : new ResolvedUser(0, 0, [], "/");
        }

        var colon = spec.IndexOf(':');
        var userPart = colon < 0 ? spec : spec[..colon];
        var entry = FindUser(userPart);
        int uid;
        int gid;
        if (entry is not null)
        {
            uid = int.Parse(entry[2], CultureInfo.InvariantCulture);
            gid = int.Parse(entry[3], CultureInfo.InvariantCulture);
        }
        else if (int.TryParse(userPart, NumberStyles.None, CultureInfo.InvariantCulture, out uid))
        {
            gid = 0;
        }
        else
        {
            throw error($"the user '{userPart}' is not in the image's /etc/passwd; add it (RUN adduser …) or use a numeric uid");
        }

        IReadOnlyList<int> additional = [];
        if (colon >= 0)
        {
            gid = ResolveGroup(spec[(colon + 1)..], unknown => error($"the group '{unknown.Name}' is not in the image's /etc/group; use a numeric gid or add the group first"));
        }
        else if (entry is not null)
        {
            additional = _group.Where(g => g.Length > 3 && g[3].Split(',').Contains(entry[0]))
                .Select(g => int.Parse(g[2], CultureInfo.InvariantCulture)).Where(g => g != gid).Distinct().ToArray();
        }

        return new ResolvedUser(uid, gid, additional, entry is { Length: > 5 } ? entry[5] : null);
    }

    /// <summary>An owner as "user[:group]" (names or numbers), as --chown takes it: a user alone means that uid for the
    /// group too, as Docker documents. <paramref name="unknown"/> makes the error for a name the image does not
    /// define, in the words of whoever gave the owner.</summary>
    public (int Uid, int Gid) ResolveOwner(string spec, Func<UnknownAccount, ContainerException> unknown)
    {
        var colon = spec.IndexOf(':');
        var userPart = colon < 0 ? spec : spec[..colon];
        var uid = int.TryParse(userPart, NumberStyles.None, CultureInfo.InvariantCulture, out var number) ? number
            : FindUser(userPart) is { } entry ? int.Parse(entry[2], CultureInfo.InvariantCulture)
            : throw unknown(new UnknownAccount("user", userPart));
        var gid = colon < 0 ? uid : ResolveGroup(spec[(colon + 1)..], unknown);
        return (uid, gid);
    }

    private int ResolveGroup(string group, Func<UnknownAccount, ContainerException> unknown)
        => int.TryParse(group, NumberStyles.None, CultureInfo.InvariantCulture, out var gid) ? gid
            : _group.FirstOrDefault(g => g[0] == group) is { Length: > 2 } entry ? int.Parse(entry[2], CultureInfo.InvariantCulture)
            : throw unknown(new UnknownAccount("group", group));

    private string[]? FindUser(string name) => _passwd.FirstOrDefault(p => p[0] == name && p.Length > 3);

    private static List<string[]> ReadTable(string rootfs, string path)
    {
        try
        {
            var (host, _) = RootfsPath.ResolveFull(rootfs, path.Split('/'), path);
            if (!File.Exists(host))
            {
                return [];
            }

            return ParseTable(File.ReadAllLines(host));
        }
        catch (ContainerException)
        {
            return [];
        }
    }

    private static List<string[]> ParseTable(IEnumerable<string> lines)
        => lines
            .Select(l => l.TrimEnd('\r'))
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split(':'))
            .Where(f => f.Length > 2 && int.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out _))
            .ToList();
}
