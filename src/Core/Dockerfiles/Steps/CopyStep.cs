namespace Sdk.Containers.Dockerfiles;

/// <summary>
/// COPY and ADD: the sources (context paths, here-documents, URLs, an earlier stage, a named context or an image)
/// and their content make the step's key; when it runs, each group of sources is copied into the root with
/// --chown/--chmod/--exclude applied (ADD also extracts local archives).
/// </summary>
internal sealed class CopyStep(BuildInputs inputs, BuildServices services, FromSources sources, FileStepRunner runner) : IStep
{
    public async Task ApplyAsync(StageState stage, DockerfileNode instruction, CancellationToken cancellationToken)
    {
        var isAdd = instruction.Value == "add";
        var name = instruction.Value.ToUpperInvariant();
        var flags = inputs.Flags(instruction, isAdd ? InstructionChecks.AddFlags : InstructionChecks.CopyFlags);
        var scope = stage.Config.ExpansionScope();
        var args = instruction.Arguments.ToList();
        if (args.Count < 2)
        {
            throw inputs.Error(instruction, $"{name} needs at least one source and a destination: {name} source… destination.");
        }

        string? Flag(string flag) => flags.LastOrDefault(f => f.Name == flag) is { Name: not null } found ? inputs.Expand(instruction, found.Value, scope) : null;
        var from = Flag("from");
        var chown = Flag("chown");
        var chmodText = Flag("chmod");
        var checksum = Flag("checksum");
        var excludes = flags.Where(f => f.Name == "exclude").Select(f => inputs.Expand(instruction, f.Value, scope)).ToArray();
        UnixFileMode? chmod = chmodText is null ? null : InstructionChecks.Chmod(chmodText, problem => inputs.Error(instruction, problem, "--chmod"));

        var destination = inputs.Expand(instruction, args[^1], scope);
        if (!destination.StartsWith('/'))
        {
            var directory = (stage.Image.Config.WorkingDir ?? "/").TrimEnd('/');
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
                var matches = tree.Resolve(heredoc.Name, problem => inputs.Error(instruction, problem));
                keyParts.Add("heredoc:" + tree.ContentKey(matches));
                groups.Add((() => Task.FromResult(tree), _ => matches, false));
                sourceCount++;
                continue;
            }

            var source = inputs.Expand(instruction, raw, scope);
            if (isAdd && (source.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || source.StartsWith("https://", StringComparison.OrdinalIgnoreCase)))
            {
                var tree = await UrlDownload.FetchAsync(inputs, services, instruction, source, checksum, cancellationToken).ConfigureAwait(false);
                var matches = tree.Walk(string.Empty).ToList();
                keyParts.Add("url:" + source + ":" + tree.ContentKey(matches));
                groups.Add((() => Task.FromResult(tree), _ => matches, false));
                sourceCount++;
                hasUrl = true;
                continue;
            }

            if (from is not null)
            {
                var fromTree = await sources.ResolveAsync(stage, instruction, from, cancellationToken).ConfigureAwait(false);
                keyParts.Add($"from:{fromTree.Key}:{source}");
                groups.Add((fromTree.Open, tree => tree.Resolve(source, problem => inputs.Error(instruction, problem + ".", raw)), isAdd));
                sourceCount += SourceTree.HasWildcards(source) ? 2 : 1;
                continue;
            }

            var context = inputs.Context;
            var found = context.Resolve(source, problem => inputs.Error(instruction, problem + "; paths are relative to the build context.", raw));
            keyParts.Add($"context:{source}:{context.ContentKey(found)}");
            groups.Add((() => Task.FromResult(context), _ => found, isAdd));
            sourceCount += found.Count;
        }

        if (checksum is not null && !hasUrl)
        {
            throw inputs.Error(instruction, "--checksum applies to ADD of a URL.", "--checksum");
        }

        var destinationIsDirectory = destination.EndsWith('/') || destination.EndsWith("/.", StringComparison.Ordinal);
        if (sourceCount > 1 && !destinationIsDirectory)
        {
            throw inputs.Error(instruction, $"{name} has several sources, so its destination '{args[^1]}' must be a directory ending in '/'.", args[^1]);
        }

        var createdBy = $"{name} {string.Join(' ', args)} # buildkit";
        var shown = $"{name} {string.Join(' ', instruction.Flags.Select(f => inputs.Expand(instruction, f, scope)).Concat(args.Select(a => a.StartsWith("<<", StringComparison.Ordinal) ? a : inputs.Expand(instruction, a, scope))))}";
        await runner.RunAsync(stage, new FileChange(instruction, createdBy, shown, keyParts, HistoryAdded: false, async (step, ct) =>
        {
            var rootfs = step.Path;
            var owner = chown is null ? ((int, int)?)null : UserDatabase.Read(rootfs).ResolveOwner(chown, unknown => inputs.Error(instruction, unknown.Kind == "user"
                ? $"--chown names the user '{unknown.Name}', which is not in the image's /etc/passwd; use a numeric uid or add the user first."
                : $"the group '{unknown.Name}' is not in the image's /etc/group; use a numeric gid or add the group first.", "--chown"));
            foreach (var (treeFactory, matches, extract) in groups)
            {
                var tree = await treeFactory().ConfigureAwait(false);
                var options = new CopyOptions { Owner = owner, Mode = chmod, Exclude = excludes.Length == 0 ? DockerIgnore.Empty : new DockerIgnore(excludes), ExtractArchives = extract, Where = inputs.Where(instruction) };
                await FileCopier.CopyAsync(rootfs, tree, matches(tree), destinationIsDirectory || sourceCount > 1 ? destination.TrimEnd('.') : destination, options, ct).ConfigureAwait(false);
            }

            return null;
        }), cancellationToken).ConfigureAwait(false);
    }

    private SourceTree InlineTree(string fileName, string content, UnixFileMode mode)
    {
        var directory = Directory.CreateDirectory(Path.Combine(services.Work, "inline-" + Guid.NewGuid().ToString("N")[..12])).FullName;
        var path = Path.Combine(directory, fileName);
        File.WriteAllText(path, content);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, mode);
        }

        return new SourceTree(directory, DockerIgnore.Empty, "a here-document", isContext: true);
    }
}
