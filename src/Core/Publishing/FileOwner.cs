using System.Globalization;
using Sdk.Containers.Dockerfiles;

namespace Sdk.Containers.Publishing;

/// <summary>
/// An owner as "user[:group]", by number or by name, as ContainerAppFilesOwner, a ContainerLayer item's Owner
/// metadata or ContainerUser give it. Numbers are taken as they are; names resolve through the base image's
/// /etc/passwd and /etc/group, so an owner of numbers alone is known before the base is read.
/// </summary>
public sealed class FileOwner
{
    private readonly string _spec;
    private readonly string _setting;

    private FileOwner(string spec, string setting)
    {
        _spec = spec;
        _setting = setting;
    }

    /// <summary>root:root, as the files of a publish have always been owned.</summary>
    public static FileOwner Root { get; } = new("0:0", "ContainerAppFilesOwner");

    /// <summary>Whether a name must come from the base image (a part is not a number).</summary>
    public bool NeedsNames => _spec.Split(':').Any(part => !int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out _));

    /// <summary>The owner <paramref name="setting"/> (what the user wrote it in, for messages) gives; null when empty.</summary>
    public static FileOwner? Parse(string? spec, string setting)
    {
        if (string.IsNullOrWhiteSpace(spec))
        {
            return null;
        }

        var trimmed = spec.Trim();
        var parts = trimmed.Split(':');
        if (parts.Length > 2 || parts.Any(p => p.Length == 0 || p.Any(c => char.IsWhiteSpace(c) || char.IsControl(c))))
        {
            throw new ContainerException(ErrorCodes.InvalidFileOwner, $"{setting} is '{spec}'; write user[:group], by number (1654, 1654:1654) or by name (app, app:app).");
        }

        return new FileOwner(trimmed, setting);
    }

    /// <summary>The uid and gid, names looked up in <paramref name="users"/> (the base's, read from <paramref name="baseImage"/>).</summary>
    public (int Uid, int Gid) Resolve(UserDatabase users, string baseImage)
        => users.ResolveOwner(_spec, unknown =>
        {
            var defined = unknown.Kind == "user" ? users.UserNames.Take(8).ToArray() : [];
            var known = defined.Length == 0 ? string.Empty : $" ({string.Join(", ", defined)}{(users.UserNames.Count() > defined.Length ? ", …" : string.Empty)})";
            return new ContainerException(ErrorCodes.InvalidFileOwner, $"{_setting} is '{_spec}', but the base image {baseImage} defines no {unknown.Kind} '{unknown.Name}' in its {unknown.File}; use a number (such as 1654{(unknown.Kind == "user" ? string.Empty : ":1654")}) or a {unknown.Kind} the base defines{known}.");
        });

    public override string ToString() => _spec;
}
