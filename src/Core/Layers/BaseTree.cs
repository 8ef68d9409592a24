using System.Formats.Tar;
using System.Globalization;
using System.Text;
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

        var finding = new Finding();
        await LayerTreeWalk.ReadAsync(layers, store, [finding], cancellationToken).ConfigureAwait(false);
        return finding.Tree;
    }

    /// <summary>The base tree as one finding of a <see cref="LayerTreeWalk"/>, to share the pass over the layers with
    /// other readers; <see cref="Tree"/> once the walk is done.</summary>
    public sealed class Finding : ILayerChainFinding
    {
        private readonly Dictionary<string, Node> _nodes = new(StringComparer.Ordinal);

        public BaseTree Tree => new(_nodes);

        public string CacheFolder => "base-trees";

        public async Task<bool> TryLoadAsync(string file, CancellationToken cancellationToken)
        {
            if (!File.Exists(file))
            {
                return false;
            }

            var lines = await File.ReadAllLinesAsync(file, cancellationToken).ConfigureAwait(false);
            if (lines.Length == 0 || lines[0] != Version)
            {
                return false;
            }

            foreach (var line in lines.Skip(1))
            {
                var fields = line.Split('\t');
                if (fields.Length != 7 || fields[0].Length != 1 || !int.TryParse(fields[1], CultureInfo.InvariantCulture, out var mode)
                    || !int.TryParse(fields[2], CultureInfo.InvariantCulture, out var uid) || !int.TryParse(fields[3], CultureInfo.InvariantCulture, out var gid))
                {
                    _nodes.Clear();
                    return false; // not ours, or damaged: read the base again
                }

                string? kept;
                try
                {
                    kept = fields[6].Length == 0 ? null : Encoding.UTF8.GetString(Convert.FromBase64String(fields[6]));
                }
                catch (FormatException)
                {
                    _nodes.Clear();
                    return false;
                }

                _nodes[fields[4]] = new Node(fields[0][0], (UnixFileMode)mode, uid, gid, fields[5].Length == 0 ? null : fields[5], kept);
            }

            return true;
        }

        public byte[] Complete()
        {
            var text = new StringBuilder(Version).Append('\n');
            foreach (var (path, node) in _nodes)
            {
                var kept = node.Text is null ? string.Empty : Convert.ToBase64String(Encoding.UTF8.GetBytes(node.Text));
                text.Append(CultureInfo.InvariantCulture, $"{node.Kind}\t{(int)node.Mode}\t{node.Uid}\t{node.Gid}\t{path}\t{node.Link}\t{kept}\n");
            }

            return Encoding.UTF8.GetBytes(text.ToString());
        }

        public bool WantsData(string path, TarEntry entry) => KeptTexts.Contains(path) && entry.Length <= MaxKeptText;

        public void Add(string path, TarEntry entry, ReadOnlyMemory<byte> data)
        {
            var kind = entry.EntryType switch
            {
                TarEntryType.Directory => 'd',
                TarEntryType.SymbolicLink => 'l',
                _ => 'f',
            };
            var kept = kind == 'f' && KeptTexts.Contains(path) && entry.Length <= MaxKeptText ? Encoding.UTF8.GetString(data.Span) : null;
            _nodes[path] = new Node(kind, entry.Mode, entry.Uid, entry.Gid, kind == 'l' ? entry.LinkName : null, kept);
        }

        public void Remove(string path)
        {
            _nodes.Remove(path);
            var prefix = path + "/";
            foreach (var child in _nodes.Keys.Where(p => p.StartsWith(prefix, StringComparison.Ordinal)).ToList())
            {
                _nodes.Remove(child);
            }
        }

        public void HideLower(string directory, IReadOnlySet<string> layerPaths)
        {
            var prefix = directory.Length == 0 ? string.Empty : directory + "/";
            foreach (var path in _nodes.Keys.Where(p => p.StartsWith(prefix, StringComparison.Ordinal) && p.Length > prefix.Length && !layerPaths.Contains(p)).ToList())
            {
                _nodes.Remove(path);
            }
        }
    }

    /// <summary>The text of one of the base's account files ("etc/passwd", "etc/group"), through the base's links;
    /// null when the base has none (or it was too big to keep).</summary>
    public string? Text(string path)
        => _nodes.TryGetValue(Resolve(path, followLast: true), out var node) ? node.Text : null;

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
