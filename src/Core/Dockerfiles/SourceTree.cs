using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Sdk.Containers.IO;
using Sdk.Containers.Unpacking;

namespace Sdk.Containers.Dockerfiles;

/// <summary>A path COPY or ADD takes: where it is on disk and how the Dockerfile named it.</summary>
public sealed record SourceMatch(string HostPath, string RelativePath, FileStatus Status);

/// <summary>
/// Where COPY and ADD take files from: the build context (less what .dockerignore leaves out) or the root file system
/// of another stage or image. Source paths are cleaned with the tree as "/", as BuildKit does, so "../x" cannot leave
/// it; wildcards follow Go's filepath.Match ('*', '?' and classes within one path element).
/// </summary>
public sealed class SourceTree
{
    public SourceTree(string root, DockerIgnore ignore, string description, bool isContext)
    {
        Root = root;
        Ignore = ignore;
        Description = description;
        IsContext = isContext;
    }

    public string Root { get; }

    public DockerIgnore Ignore { get; }

    public string Description { get; }

    /// <summary>Files from the context belong to root unless --chown says otherwise; from a stage they keep their owners.</summary>
    public bool IsContext { get; }

    public static bool HasWildcards(string path) => path.IndexOfAny(['*', '?', '[']) >= 0;

    /// <summary>What a COPY source names: one path, or every path a wildcard matches (none is an error).</summary>
    public IReadOnlyList<SourceMatch> Resolve(string source, Func<string, ContainerException> error)
    {
        var cleaned = PathPattern.Clean("/" + source).TrimStart('/');
        if (!HasWildcards(cleaned))
        {
            if (cleaned.Length == 0)
            {
                return [new SourceMatch(Root, string.Empty, Posix.LStat(Root))];
            }

            var components = cleaned.Split('/');
            string host;
            try
            {
                (host, _) = RootfsPath.ResolveFull(Root, components, Description);
            }
            catch (ContainerException)
            {
                throw error($"\"/{cleaned}\": not found in {Description}");
            }

            if (!Posix.TryLStat(host, out var status) || (IsContext && Ignore.IsExcluded(cleaned) && !(status.IsDirectory && Ignore.MayReinclude(cleaned))))
            {
                throw error($"\"/{cleaned}\": not found in {Description}{(IsContext && Ignore.IsExcluded(cleaned) ? " (it is excluded by .dockerignore)" : string.Empty)}");
            }

            return [new SourceMatch(host, cleaned, status)];
        }

        var pattern = new Regex(PathPattern.ToRegex(cleaned, dockerIgnore: false), RegexOptions.CultureInvariant);
        var depth = cleaned.Split('/').Length;
        var matches = Walk(string.Empty, maxDepth: depth)
            .Where(m => m.RelativePath.Split('/').Length == depth && pattern.IsMatch(m.RelativePath))
            .ToList();
        if (matches.Count == 0)
        {
            throw error($"no source files were specified: nothing in {Description} matches '{source}'");
        }

        return matches;
    }

    /// <summary>Everything under a path of the tree that is part of it, parents before children, in name order.</summary>
    public IEnumerable<SourceMatch> Walk(string relative, int maxDepth = int.MaxValue)
    {
        var start = relative.Length == 0 ? Root : Path.Combine(Root, relative);
        var startDepth = relative.Length == 0 ? 0 : relative.Split('/').Length;
        var pending = new Stack<(string Host, string Relative)>();
        pending.Push((start, relative));
        while (pending.Count > 0)
        {
            var (directory, directoryRelative) = pending.Pop();
            var children = Directory.EnumerateFileSystemEntries(directory).Order(StringComparer.Ordinal).ToList();
            var nested = new List<(string, string)>();
            foreach (var child in children)
            {
                var childRelative = directoryRelative.Length == 0 ? Path.GetFileName(child) : $"{directoryRelative}/{Path.GetFileName(child)}";
                var status = Posix.LStat(child);
                var excluded = IsContext && Ignore.IsExcluded(childRelative);
                if (excluded && !(status.IsDirectory && Ignore.MayReinclude(childRelative)))
                {
                    continue;
                }

                if (!excluded)
                {
                    yield return new SourceMatch(child, childRelative, status);
                }

                if (status.IsDirectory && childRelative.Split('/').Length - startDepth < maxDepth)
                {
                    nested.Add((child, childRelative));
                }
            }

            for (var i = nested.Count - 1; i >= 0; i--)
            {
                pending.Push(nested[i]);
            }
        }
    }

    /// <summary>
    /// A digest of what a COPY would take: names, kinds, modes, owners, link targets and file contents, so the cache
    /// knows when a source changed.
    /// </summary>
    public string ContentKey(IEnumerable<SourceMatch> matches)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var match in matches)
        {
            Append(hash, match);
            if (match.Status.IsDirectory)
            {
                foreach (var inner in Walk(match.RelativePath))
                {
                    Append(hash, inner);
                }
            }
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private void Append(IncrementalHash hash, SourceMatch match)
    {
        var status = match.Status;
        var owner = IsContext ? string.Empty : $"{status.Uid}:{status.Gid}";
        hash.AppendData(Encoding.UTF8.GetBytes($"{match.RelativePath}\0{status.Type}\0{(int)status.Mode}\0{owner}\0{status.Size}\0"));
        if (status.Type == UnixFileType.Symlink)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(new FileInfo(match.HostPath).LinkTarget ?? string.Empty));
        }
        else if (status.Type == UnixFileType.Regular)
        {
            using var file = File.OpenRead(match.HostPath);
            hash.AppendData(SHA256.HashData(file));
        }

        hash.AppendData("\n"u8);
    }
}
