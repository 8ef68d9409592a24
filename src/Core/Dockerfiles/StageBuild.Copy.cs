using System.Globalization;
using System.Security.Cryptography;
using Sdk.Containers.Unpacking;

namespace Sdk.Containers.Dockerfiles;

internal sealed partial class StageBuild
{
    private static readonly HttpClient Downloads = new(new SocketsHttpHandler { UseProxy = true, AllowAutoRedirect = true, MaxAutomaticRedirections = 10 }) { Timeout = TimeSpan.FromMinutes(10) };

    private async Task CopyAsync(DockerfileNode instruction, CancellationToken cancellationToken)
    {
        var isAdd = instruction.Value == "add";
        var name = instruction.Value.ToUpperInvariant();
        var flags = Flags(instruction, isAdd ? InstructionChecks.AddFlags : InstructionChecks.CopyFlags);
        var scope = _config.ExpansionScope();
        var args = instruction.Arguments.ToList();
        if (args.Count < 2)
        {
            throw _session.Error(instruction, $"{name} needs at least one source and a destination: {name} source… destination.");
        }

        string? Flag(string flag) => flags.LastOrDefault(f => f.Name == flag) is { Name: not null } found ? Expand(instruction, found.Value, scope) : null;
        var from = Flag("from");
        var chown = Flag("chown");
        var chmodText = Flag("chmod");
        var checksum = Flag("checksum");
        var excludes = flags.Where(f => f.Name == "exclude").Select(f => Expand(instruction, f.Value, scope)).ToArray();
        UnixFileMode? chmod = chmodText is null ? null : InstructionChecks.Chmod(chmodText, problem => _session.Error(instruction, problem, "--chmod"));

        var destination = Expand(instruction, args[^1], scope);
        if (!destination.StartsWith('/'))
        {
            var directory = (Image.Config.WorkingDir ?? "/").TrimEnd('/');
            destination = destination is "." or "./" ? directory + "/" : $"{directory}/{destination}";
        }

        // Each group of sources comes from one tree; the key says what they hold.
        var groups = new List<(Func<Task<SourceTree>> Tree, Func<SourceTree, IReadOnlyList<SourceMatch>> Matches, bool Extract)>();
        var keyParts = new List<string> { name, destination, chown ?? string.Empty, chmodText ?? string.Empty, string.Join('\n', excludes) };
        var heredocs = new Queue<Heredoc>(instruction.Heredocs);
        var sourceCount = 0;
        var hasUrl = false;
        foreach (var raw in args[..^1])
        {
            if (raw.StartsWith("<<", StringComparison.Ordinal) && heredocs.Count > 0)
            {
                var heredoc = heredocs.Dequeue();
                var tree = InlineTree(heredoc.Name, heredoc.Content, (UnixFileMode)Convert.ToInt32("644", 8));
                var matches = tree.Resolve(heredoc.Name, problem => _session.Error(instruction, problem));
                keyParts.Add("heredoc:" + tree.ContentKey(matches));
                groups.Add((() => Task.FromResult(tree), _ => matches, false));
                sourceCount++;
                continue;
            }

            var source = Expand(instruction, raw, scope);
            if (isAdd && (source.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || source.StartsWith("https://", StringComparison.OrdinalIgnoreCase)))
            {
                var tree = await DownloadAsync(instruction, source, checksum, cancellationToken).ConfigureAwait(false);
                var matches = tree.Walk(string.Empty).ToList();
                keyParts.Add("url:" + source + ":" + tree.ContentKey(matches));
                groups.Add((() => Task.FromResult(tree), _ => matches, false));
                sourceCount++;
                hasUrl = true;
                continue;
            }

            if (from is not null)
            {
                var (treeFactory, key) = await FromTreeAsync(instruction, from, cancellationToken).ConfigureAwait(false);
                keyParts.Add($"from:{key}:{source}");
                groups.Add((treeFactory, tree => tree.Resolve(source, problem => _session.Error(instruction, problem + ".", raw)), isAdd));
                sourceCount += SourceTree.HasWildcards(source) ? 2 : 1;
                continue;
            }

            var context = _session.Context;
            var found = context.Resolve(source, problem => _session.Error(instruction, problem + "; paths are relative to the build context.", raw));
            keyParts.Add($"context:{source}:{context.ContentKey(found)}");
            groups.Add((() => Task.FromResult(context), _ => found, isAdd));
            sourceCount += found.Count;
        }

        if (checksum is not null && !hasUrl)
        {
            throw _session.Error(instruction, "--checksum applies to ADD of a URL.", "--checksum");
        }

        var destinationIsDirectory = destination.EndsWith('/') || destination.EndsWith("/.", StringComparison.Ordinal);
        if (sourceCount > 1 && !destinationIsDirectory)
        {
            throw _session.Error(instruction, $"{name} has several sources, so its destination '{args[^1]}' must be a directory ending in '/'.", args[^1]);
        }

        var createdBy = $"{name} {string.Join(' ', args)} # buildkit";
        var shown = $"{name} {string.Join(' ', instruction.Flags.Select(f => Expand(instruction, f, scope)).Concat(args.Select(a => a.StartsWith("<<", StringComparison.Ordinal) ? a : Expand(instruction, a, scope))))}";
        await StepAsync(instruction, createdBy, shown, keyParts, historyAdded: false, async ct =>
        {
            var owner = chown is null ? ((int, int)?)null : UserDatabase.Read(_rootfs!).ResolveOwner(chown, problem => _session.Error(instruction, problem + ".", "--chown"));
            foreach (var (treeFactory, matches, extract) in groups)
            {
                var tree = await treeFactory().ConfigureAwait(false);
                var options = new CopyOptions { Owner = owner, Mode = chmod, Exclude = excludes.Length == 0 ? DockerIgnore.Empty : new DockerIgnore(excludes), ExtractArchives = extract, Where = Where(instruction) };
                await FileCopier.CopyAsync(_rootfs!, tree, matches(tree), destinationIsDirectory || sourceCount > 1 ? destination.TrimEnd('.') : destination, options, ct).ConfigureAwait(false);
            }

            return null;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>What --from names: an earlier stage, a named context, or an image (which must be written as a reference).</summary>
    private async Task<(Func<Task<SourceTree>> Tree, string Key)> FromTreeAsync(DockerfileNode instruction, string from, CancellationToken cancellationToken)
    {
        if (_session.FindStage(from, _stage.Index) is int index)
        {
            var other = await _session.StageAsync(index, cancellationToken).ConfigureAwait(false);
            return (async () => new SourceTree(await other.ViewAsync(cancellationToken).ConfigureAwait(false), DockerIgnore.Empty, $"stage {from}", isContext: false), "stage:" + other.Key);
        }

        if (_session.NamedDirectory(from) is { } directory)
        {
            return (() => Task.FromResult(directory), "dir:" + directory.ContentKey(directory.Walk(string.Empty)));
        }

        var isReference = from.IndexOfAny(['/', ':', '@', '.']) >= 0 || _session.Request.NamedContexts.ContainsKey(from);
        if (!isReference)
        {
            var names = _session.Stages.Take(_stage.Index).Select(s => s.Name).OfType<string>().ToArray();
            throw _session.Error(instruction, $"--from={from} names no earlier stage ({(names.Length == 0 ? "there are none before this one" : "the stages before this one are " + string.Join(", ", names))}). Name a stage defined above with FROM … AS {from}, or, to copy from an image, write its full reference with a tag (such as docker.io/library/{from}:latest).", "--from");
        }

        var (_, key) = await _session.ImageAsync(from, Platform, cancellationToken).ConfigureAwait(false);
        return (() => _session.ImageTreeAsync(from, Platform, cancellationToken), "image:" + key);
    }

    private SourceTree InlineTree(string fileName, string content, UnixFileMode mode)
    {
        var directory = Directory.CreateDirectory(Path.Combine(_session.Work, "inline-" + Guid.NewGuid().ToString("N")[..12])).FullName;
        var path = Path.Combine(directory, fileName);
        File.WriteAllText(path, content);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, mode);
        }

        return new SourceTree(directory, DockerIgnore.Empty, "a here-document", isContext: true);
    }

    /// <summary>ADD of a URL: the file is fetched (checked against --checksum when given) and added with mode 0600, as Docker does.</summary>
    private async Task<SourceTree> DownloadAsync(DockerfileNode instruction, string url, string? checksum, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            throw _session.Error(instruction, $"'{url}' is not a valid URL.", url);
        }

        var fileName = Path.GetFileName(uri.AbsolutePath.TrimEnd('/'));
        if (string.IsNullOrEmpty(fileName))
        {
            fileName = "index.html";
        }

        var directory = Directory.CreateDirectory(Path.Combine(_session.Work, "download-" + Guid.NewGuid().ToString("N")[..12])).FullName;
        var path = Path.Combine(directory, fileName);
        Log.Info($"Downloading {uri.GetLeftPart(UriPartial.Path)}");
        try
        {
            using var response = await Downloads.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw _session.Error(instruction, $"ADD could not download {uri.GetLeftPart(UriPartial.Path)}: the server answered {(int)response.StatusCode} {response.ReasonPhrase}.", url);
            }

            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using var file = File.Create(path);
            await body.CopyToAsync(file, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw _session.Error(instruction, $"ADD could not download {uri.GetLeftPart(UriPartial.Path)}: {ex.Message}", url);
        }

        if (checksum is not null)
        {
            if (!checksum.StartsWith("sha256:", StringComparison.Ordinal))
            {
                throw _session.Error(instruction, $"--checksum={checksum} is not supported; write --checksum=sha256:<64 hex digits>.", "--checksum");
            }

            await using var file = File.OpenRead(path);
            var actual = "sha256:" + Convert.ToHexStringLower(await SHA256.HashDataAsync(file, cancellationToken).ConfigureAwait(false));
            if (!string.Equals(actual, checksum, StringComparison.OrdinalIgnoreCase))
            {
                throw _session.Error(instruction, $"the file downloaded from {uri.GetLeftPart(UriPartial.Path)} has the digest {actual}, not the {checksum} that --checksum expects; nothing was added.", "--checksum");
            }
        }

        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        return new SourceTree(directory, DockerIgnore.Empty, uri.GetLeftPart(UriPartial.Path), isContext: true);
    }
}
