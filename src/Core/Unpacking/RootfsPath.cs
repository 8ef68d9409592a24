namespace Sdk.Containers.Unpacking;

/// <summary>
/// Resolves paths inside a root file system the way the image sees them: symbolic links are followed with the root as
/// "/", so an absolute target stays inside it. A relative link whose ".." would climb above the root is refused rather
/// than clamped, because nothing legitimate needs it and it is how hostile archives try to write outside.
/// </summary>
public static class RootfsPath
{
    private const int MaxLinks = 40;

    /// <summary>Splits an image path into components, refusing ".." (which no honest layer or context path needs).</summary>
    public static string[] Components(string imagePath, string what)
    {
        var parts = imagePath.Replace('\\', '/').Split('/', StringSplitOptions.RemoveEmptyEntries).Where(p => p != ".").ToArray();
        if (parts.Contains(".."))
        {
            throw new ContainerException(ErrorCodes.UnsafeLayerEntry, $"{what}: the path '{imagePath}' contains '..'; paths must stay inside the image root.");
        }

        return parts;
    }

    /// <summary>
    /// The host path of the directory that holds <paramref name="components"/>' last element, following links in
    /// every parent; with <paramref name="createMissing"/> missing parents are made (owner and mode from the callback).
    /// Returns the resolved image path of that parent as well ("" for the root).
    /// </summary>
    public static (string HostPath, string ImagePath) ResolveParent(string root, IReadOnlyList<string> components, string what, Action<string, string>? createMissing = null)
    {
        var resolved = new List<string>();
        var links = 0;
        var pending = new Queue<string>(components.Take(components.Count - 1));
        while (pending.Count > 0)
        {
            var part = pending.Dequeue();
            if (part == "..")
            {
                if (resolved.Count == 0)
                {
                    throw Escape(what, components);
                }

                resolved.RemoveAt(resolved.Count - 1);
                continue;
            }

            var host = Host(root, resolved, part);
            var info = new FileInfo(host);
            if (info.LinkTarget is { } target)
            {
                if (++links > MaxLinks)
                {
                    throw new ContainerException(ErrorCodes.UnsafeLayerEntry, $"{what}: too many levels of symbolic links under '/{string.Join('/', components)}'.");
                }

                if (target.StartsWith('/'))
                {
                    resolved.Clear();
                }

                // The link's own components come first, then what was left of the path.
                var rest = pending.ToArray();
                pending.Clear();
                foreach (var piece in target.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(p => p != ".").Concat(rest))
                {
                    pending.Enqueue(piece);
                }

                continue;
            }

            if (Directory.Exists(host))
            {
                resolved.Add(part);
                continue;
            }

            if (File.Exists(host) || createMissing is null)
            {
                throw new ContainerException(ErrorCodes.UnsafeLayerEntry, $"{what}: '/{string.Join('/', resolved.Append(part))}' is not a directory, so '/{string.Join('/', components)}' cannot be created under it.");
            }

            Directory.CreateDirectory(host);
            resolved.Add(part);
            createMissing(host, string.Join('/', resolved));
        }

        return (resolved.Count == 0 ? root : Path.Combine(root, Path.Combine([.. resolved])), string.Join('/', resolved));
    }

    /// <summary>Like <see cref="ResolveParent"/>, then follows the last component too when it is a link.</summary>
    public static (string HostPath, string ImagePath) ResolveFull(string root, IReadOnlyList<string> components, string what)
    {
        if (components.Count == 0)
        {
            return (root, string.Empty);
        }

        for (var depth = 0; depth < MaxLinks; depth++)
        {
            var (parentHost, parentImage) = ResolveParent(root, components, what);
            var host = Path.Combine(parentHost, components[^1]);
            var image = parentImage.Length == 0 ? components[^1] : $"{parentImage}/{components[^1]}";
            if (new FileInfo(host).LinkTarget is not { } target)
            {
                return (host, image);
            }

            var next = target.StartsWith('/') ? target : $"{parentImage}/{target}";
            components = Normalize(next.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(p => p != ".").ToArray(), what);
        }

        throw new ContainerException(ErrorCodes.UnsafeLayerEntry, $"{what}: too many levels of symbolic links.");
    }

    private static string[] Normalize(IReadOnlyList<string> components, string what)
    {
        var result = new List<string>();
        foreach (var part in components)
        {
            if (part == "..")
            {
                if (result.Count == 0)
                {
                    throw Escape(what, components);
                }

                result.RemoveAt(result.Count - 1);
            }
            else
            {
                result.Add(part);
            }
        }

        return [.. result];
    }

    private static string Host(string root, List<string> resolved, string part)
        => Path.Combine(root, Path.Combine([.. resolved, part]));

    private static ContainerException Escape(string what, IReadOnlyList<string> components)
        => new(ErrorCodes.UnsafeLayerEntry, $"{what}: '/{string.Join('/', components)}' goes through a symbolic link that points outside the image root; refusing to follow it.");
}
