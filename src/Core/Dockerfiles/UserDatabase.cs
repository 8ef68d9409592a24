using System.Globalization;
using Sdk.Containers.Unpacking;

namespace Sdk.Containers.Dockerfiles;

/// <summary>A user as a process runs: uid, primary gid and the other groups /etc/group lists it in.</summary>
public sealed record ResolvedUser(int Uid, int Gid, IReadOnlyList<int> AdditionalGids, string? Home);

/// <summary>
/// Names in USER, --chown and WORKDIR resolved through a root file system's /etc/passwd and /etc/group, as Docker
/// does: numbers are taken as they are, names must exist.
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

    public static UserDatabase Read(string rootfs)
        => new(ReadTable(rootfs, "etc/passwd"), ReadTable(rootfs, "etc/group"));

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
            gid = ResolveGroup(spec[(colon + 1)..], error);
        }
        else if (entry is not null)
        {
            additional = _group.Where(g => g.Length > 3 && g[3].Split(',').Contains(entry[0]))
                .Select(g => int.Parse(g[2], CultureInfo.InvariantCulture)).Where(g => g != gid).Distinct().ToArray();
        }

        return new ResolvedUser(uid, gid, additional, entry is { Length: > 5 } ? entry[5] : null);
    }

    /// <summary>--chown's value: a user alone means that uid for the group too, as Docker documents.</summary>
    public (int Uid, int Gid) ResolveOwner(string spec, Func<string, ContainerException> error)
    {
        var colon = spec.IndexOf(':');
        var userPart = colon < 0 ? spec : spec[..colon];
        var uid = int.TryParse(userPart, NumberStyles.None, CultureInfo.InvariantCulture, out var number) ? number
            : FindUser(userPart) is { } entry ? int.Parse(entry[2], CultureInfo.InvariantCulture)
            : throw error($"--chown names the user '{userPart}', which is not in the image's /etc/passwd; use a numeric uid or add the user first");
        var gid = colon < 0 ? uid : ResolveGroup(spec[(colon + 1)..], error);
        return (uid, gid);
    }

    private int ResolveGroup(string group, Func<string, ContainerException> error)
        => int.TryParse(group, NumberStyles.None, CultureInfo.InvariantCulture, out var gid) ? gid
            : _group.FirstOrDefault(g => g[0] == group) is { Length: > 2 } entry ? int.Parse(entry[2], CultureInfo.InvariantCulture)
            : throw error($"the group '{group}' is not in the image's /etc/group; use a numeric gid or add the group first");

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

            return File.ReadAllLines(host)
                .Where(l => l.Length > 0 && !l.StartsWith('#'))
                .Select(l => l.Split(':'))
                .Where(f => f.Length > 2 && int.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out _))
                .ToList();
        }
        catch (ContainerException)
        {
            return [];
        }
    }
}
