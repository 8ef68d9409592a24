using System.Formats.Tar;
using System.Globalization;
using System.Text;
using Sdk.Containers.IO;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Layers;

/// <summary>
/// What a base image's file system holds at each path, read from its layers' tar headers (whiteouts applied), so that
/// layers put on it fit in as BuildKit's do: a parent directory the base has keeps the base's mode, owner and group
/// (/tmp stays 1777, /home/app stays the app user's), and a path through a symbolic link of the base goes where the
/// link points (/var/run/x lands in /run/x) instead of replacing the link with a directory. The texts of its
/// /etc/passwd and /etc/group come with it, so that owners given by name resolve as the base defines them. Read once
/// per base (by the digest of its layer chain) and kept in the build cache.
/// </summary>
public sealed class BaseTree
{
    private const string Version = "base-tree-v2";

    /// <summary>Files whose text is kept: the account databases, small in any real image (a bigger one is not kept,
    /// and its names do not resolve).</summary>
    private static readonly string[] KeptTexts = ["etc/passwd", "etc/group"];
    private const int MaxKeptText = 1 << 20;

    private readonly Dictionary<string, Node> _nodes;

    private BaseTree(Dictionary<string, Node> nodes)
    {
        _nodes = nodes;
    }

    /// <summary>One path of the base: a directory (with its metadata), a symbolic link (with its target) or anything
    /// else (with its text, for the files in <see cref="KeptTexts"/>).</summary>
    private readonly record struct Node(char Kind, UnixFileMode Mode, int Uid, int Gid, string? Link, string? Text = null);

    public static BaseTree Empty { get; } = new(new Dictionary<string, Node>(StringComparer.Ordinal));

    public int Count => _nodes.Count;

    public static async Task<BaseTree> ReadAsync(IReadOnlyList<Layer> layers, BlobStore store, CancellationToken cancellationToken)
    {
        if (layers.Count == 0)
        {
            return Empty;
        }

        var chain = SnapshotStore.ChainIds(layers)[^1];
        var cacheFile = Path.Combine(store.Root, "index", "base-trees", chain.Hex);
        if (TryLoad(cacheFile) is { } cached)
        {
            return cached;
        }

        var nodes = new Dictionary<string, Node>(StringComparer.Ordinal);
        foreach (var layer in layers)
        {
            await ApplyAsync(layer, nodes, cancellationToken).ConfigureAwait(false);
        }

        var text = new StringBuilder(Version).Append('\n');
        foreach (var (path, node) in nodes)
        {
            var kept = node.Text is null ? string.Empty : Convert.ToBase64String(Encoding.UTF8.GetBytes(node.Text));
            text.Append(CultureInfo.InvariantCulture, $"{node.Kind}\t{(int)node.Mode}\t{node.Uid}\t{node.Gid}\t{path}\t{node.Link}\t{kept}\n");
        }

        Directory.CreateDirectory(Path.GetDirectoryName(cacheFile)!);
        await AtomicFile.WriteAllBytesAsync(cacheFile, Encoding.UTF8.GetBytes(text.ToString()), cancellationToken).ConfigureAwait(false);
        return new BaseTree(nodes);
    }

    private static BaseTree? TryLoad(string file)
    {
        if (!File.Exists(file))
        {
            return null;
        }

        var lines = File.ReadAllLines(file);
        if (lines.Length == 0 || lines[0] != Version)
        {
            return null;
        }

        var nodes = new Dictionary<string, Node>(StringComparer.Ordinal);
        foreach (var line in lines.Skip(1))
        {
            var fields = line.Split('\t');
            if (fields.Length != 7 || fields[0].Length != 1 || !int.TryParse(fields[1], CultureInfo.InvariantCulture, out var mode)
                || !int.TryParse(fields[2], CultureInfo.InvariantCulture, out var uid) || !int.TryParse(fields[3], CultureInfo.InvariantCulture, out var gid))
            {
                return null; // not ours, or damaged: read the base again
            }

            string? kept;
            try
            {
                kept = fields[6].Length == 0 ? null : Encoding.UTF8.GetString(Convert.FromBase64String(fields[6]));
            }
            catch (FormatException)
            {
                return null;
            }

            nodes[fields[4]] = new Node(fields[0][0], (UnixFileMode)mode, uid, gid, fields[5].Length == 0 ? null : fields[5], kept);
        }

        return new BaseTree(nodes);
    }

    private static async Task ApplyAsync(Layer layer, Dictionary<string, Node> nodes, CancellationToken cancellationToken)
    {
        await using var tar = LayerReader.Open(layer.OpenBlob(), new LayerReadOptions { Description = $"The base image's layer {layer.Descriptor.Digest}" });
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var opaque = new List<string>();
        while (await tar.NextAsync(cancellationToken).ConfigureAwait(false) is { } entry)
        {
            var path = LayerPlan.NormalizePath(entry.Name);
            if (path.Length == 0 || entry.EntryType is TarEntryType.GlobalExtendedAttributes)
            {
                continue;
            }

            var name = path[(path.LastIndexOf('/') + 1)..];
            var parent = path.Length > name.Length ? path[..(path.Length - name.Length - 1)] : string.Empty;
            if (name == ".wh..wh..opq")
            {
                opaque.Add(parent);
                continue;
            }

            if (name.StartsWith(".wh.", StringComparison.Ordinal))
            {
                RemoveTree(nodes, parent.Length == 0 ? name[4..] : $"{parent}/{name[4..]}");
                continue;
            }

            seen.Add(path);
            var kind = entry.EntryType switch
            {
                TarEntryType.Directory => 'd',
                TarEntryType.SymbolicLink => 'l',
                _ => 'f',
            };
            if (kind != 'd')
            {
                RemoveTree(nodes, path);
            }

            var kept = kind == 'f' && KeptTexts.Contains(path) ? await ReadTextAsync(entry, cancellationToken).ConfigureAwait(false) : null;
            nodes[path] = new Node(kind, entry.Mode, entry.Uid, entry.Gid, kind == 'l' ? entry.LinkName : null, kept);
        }

        // An opaque directory hides what lower layers had in it, not what this layer put there.
        foreach (var directory in opaque)
        {
            var prefix = directory.Length == 0 ? string.Empty : directory + "/";
            foreach (var path in nodes.Keys.Where(p => p.StartsWith(prefix, StringComparison.Ordinal) && p.Length > prefix.Length && !seen.Contains(p)).ToList())
            {
                nodes.Remove(path);
            }
        }
    }

    private static async Task<string?> ReadTextAsync(TarEntry entry, CancellationToken cancellationToken)
    {
        if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.DataStream is not { } data || entry.Length > MaxKeptText)
        {
            return null;
        }

        using var reader = new StreamReader(data, Encoding.UTF8, detectEncodingFromByteOrderMarks: false, leaveOpen: true);
        return await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The text of one of the base's account files ("etc/passwd", "etc/group"), through the base's links;
    /// null when the base has none (or it was too big to keep).</summary>
    public string? Text(string path)
        => _nodes.TryGetValue(Resolve(path, followLast: true), out var node) ? node.Text : null;

    private static void RemoveTree(Dictionary<string, Node> nodes, string path)
    {
        nodes.Remove(path);
        var prefix = path + "/";
        foreach (var child in nodes.Keys.Where(p => p.StartsWith(prefix, StringComparison.Ordinal)).ToList())
        {
            nodes.Remove(child);
        }
    }

    /// <summary>Whether <see cref="Fit"/> leaves the plan as it is (its layer need not be written again).</summary>
    public static bool SameEntries(LayerPlan a, LayerPlan b) => a.Entries.SequenceEqual(b.Entries);

    /// <summary>
    /// The plan as it must be on this base: paths through the base's symbolic links resolved, and each directory the
    /// base already has (parents included) with the base's mode, owner and group. Only directories the base lacks are
    /// made as the plan says (root 0755 for a parent, as Docker makes them).
    /// </summary>
    public LayerPlan Fit(LayerPlan plan)
    {
        if (_nodes.Count == 0)
        {
            return plan;
        }

        // A directory at a link's own path is where the link points (it is there as a parent of what goes through it).
        var resolved = plan.Entries.Select(e => e with { Path = Resolve(e.Path, followLast: e.Kind == LayerEntryKind.Directory) });
        var complete = LayerPlan.Create(resolved, plan.Description);
        var fitted = complete.Entries.Select(e => e.Kind == LayerEntryKind.Directory && _nodes.TryGetValue(e.Path, out var node) && node.Kind == 'd'
            ? e with { Mode = node.Mode, Uid = node.Uid, Gid = node.Gid }
            : e);
        return LayerPlan.Create(fitted, plan.Description);
    }

    /// <summary>A path with every parent that is a symbolic link in the base replaced by where it points (inside the
    /// image); the last component too when <paramref name="followLast"/>.</summary>
    public string Resolve(string path, bool followLast = false)
    {
        var parts = new List<string>(path.Split('/', StringSplitOptions.RemoveEmptyEntries));
        for (int i = 0, hops = 0; i < parts.Count - (followLast ? 0 : 1); i++)
        {
            var prefix = string.Join('/', parts.Take(i + 1));
            if (!_nodes.TryGetValue(prefix, out var node) || node.Kind != 'l')
            {
                continue;
            }

            if (++hops > 40)
            {
                throw new ContainerException(ErrorCodes.UnsafeLayerEntry, $"'/{path}' goes through more than 40 symbolic links of the base image; one of them loops.");
            }

            // The link's target, relative to the root for an absolute one and to the link's directory otherwise, with
            // ".." stopping at the root as it does in a container.
            var target = node.Link!.StartsWith('/') ? new List<string>() : parts.Take(i).ToList();
            foreach (var part in node.Link.Split('/', StringSplitOptions.RemoveEmptyEntries))
            {
                if (part == "..")
                {
                    if (target.Count > 0)
                    {
                        target.RemoveAt(target.Count - 1);
                    }
                }
                else if (part != ".")
                {
                    target.Add(part);
                }
            }

            parts = [.. target, .. parts.Skip(i + 1)];
            i = -1; // the new prefix may itself hold links
        }

        return string.Join('/', parts);
    }
}
