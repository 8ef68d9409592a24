using System.Text.RegularExpressions;

namespace Sdk.Containers.Dockerfiles;

/// <summary>
/// A .dockerignore with Docker's rules (moby/patternmatcher): one pattern per line, '#' comments, paths cleaned and
/// taken from the context root, '*' and '?' within one path element, '**' across any number, '!' re-includes; a
/// pattern that matches a directory excludes what is under it; the last matching line wins.
/// </summary>
public sealed class DockerIgnore
{
    private readonly List<(Regex Pattern, bool Exclusion, string Text)> _patterns = [];

    public static readonly DockerIgnore Empty = new([]);

    public DockerIgnore(IEnumerable<string> lines)
    {
        foreach (var raw in lines)
        {
            if (raw.StartsWith('#'))
            {
                continue;
            }

            var line = raw.Trim();
            if (line.Length == 0)
            {
                continue;
            }

            var exclusion = line.StartsWith('!');
            if (exclusion)
            {
                line = line[1..].Trim();
                if (line.Length == 0)
                {
                    throw new ContainerException(ErrorCodes.BadIgnoreLine, "A .dockerignore line is a lone '!'; write the pattern to re-include after it.");
                }
            }

            line = PathPattern.Clean(line);
            if (line != "/")
            {
                line = line.TrimStart('/');
            }

            _patterns.Add((new Regex(PathPattern.ToRegex(line, dockerIgnore: true), RegexOptions.CultureInvariant), exclusion, line));
        }
    }

    public bool IsEmpty => _patterns.Count == 0;

    /// <summary>Reads `&lt;Dockerfile&gt;.dockerignore` beside the Dockerfile when there is one, else the context's .dockerignore.</summary>
    public static DockerIgnore ForBuild(string contextDirectory, string? dockerfilePath)
    {
        var specific = dockerfilePath is null ? null : dockerfilePath + ".dockerignore";
        var path = specific is not null && File.Exists(specific) ? specific : Path.Combine(contextDirectory, ".dockerignore");
        return File.Exists(path) ? new DockerIgnore(File.ReadAllLines(path)) : Empty;
    }

    /// <summary>Whether a path of the context (relative, '/'-separated) is left out of it.</summary>
    public bool IsExcluded(string path)
    {
        path = PathPattern.Clean(path).TrimStart('/');
        var parents = path.Split('/');
        var matched = false;
        foreach (var (pattern, exclusion, _) in _patterns)
        {
            // An inclusion cannot change an already excluded path, nor an exception a path not excluded.
            if (exclusion != matched)
            {
                continue;
            }

            var match = pattern.IsMatch(path);
            for (var i = 1; !match && i < parents.Length; i++)
            {
                match = pattern.IsMatch(string.Join('/', parents[..i]));
            }

            if (match)
            {
                matched = !exclusion;
            }
        }

        return matched;
    }

    /// <summary>Whether some exception ('!') could re-include a path under this excluded directory.</summary>
    public bool MayReinclude(string directory)
        => _patterns.Any(p => p.Exclusion && (p.Text.StartsWith(directory + "/", StringComparison.Ordinal) || p.Text.Contains('*') || p.Text.Contains('?') || p.Text.Contains('[')));
}
