using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text.Json;
using Sdk.Containers.Dockerfiles;
using Sdk.Containers.Publishing;
using Sdk.Containers.Registry;

namespace Sdk.Containers.Integration;

/// <summary>
/// What the Dockerfile tests share: a registry holding a small base image made here (busybox, users, groups and a
/// few files to change), and helpers to build a context with BuildKit and with our builder and compare the results.
/// </summary>
public sealed class DockerfileFixture : IDisposable
{
    private readonly Lazy<(RegistryServer Server, string Base)> _setup;
    private readonly TempDirectory _work = new();

    public DockerfileFixture()
    {
        _setup = new Lazy<(RegistryServer, string)>(() =>
        {
            var server = new RegistryServer(RegistryAuth.None);
            var reference = $"{server.Host}/corpus/base:1";
            var context = _work.Combine("base");
            MakeBaseRootfs(Path.Combine(context, "rootfs"));
            TestEnvironment.Run("tar", ["--numeric-owner", "-C", Path.Combine(context, "rootfs"), "-cf", Path.Combine(context, "base.tar"), "."]).AssertSuccess();
            Directory.Delete(Path.Combine(context, "rootfs"), recursive: true);
            File.WriteAllText(Path.Combine(context, "Dockerfile"), "FROM scratch\nADD base.tar /\nCMD [\"/bin/sh\"]\n");
            var result = BuildOursAsync(context, new Dictionary<string, string>()).GetAwaiter().GetResult();
            using var registries = new RegistrySession(new RegistryOptions(), NullBuildLog.Instance);
            new Sdk.Containers.Targets.RegistryTarget(registries, NullBuildLog.Instance).WriteAsync(Sdk.Containers.Targets.ImageArtifact.Of(result.Image), [Sdk.Containers.References.ImageReference.Parse(reference)], CancellationToken.None).GetAwaiter().GetResult();
            return (server, reference);
        });
    }

    /// <summary>The base image's reference in the test registry (started on first use).</summary>
    public string BaseImage => _setup.Value.Base;

    public string Cache => _work.Combine("cache");

    public TempDirectory Work => _work;

    public async Task<DockerfileBuildResult> BuildOursAsync(string context, IReadOnlyDictionary<string, string> buildArguments, bool noCache = false, IBuildLog? log = null, string? cache = null, Snapshotter? snapshotter = null)
    {
        using var services = TestServices.For(cache ?? Cache, log);
        return await new DockerfileBuilder(services).BuildAsync(new DockerfileBuildRequest
        {
            ContextDirectory = context,
            BuildArguments = buildArguments,
            NoCache = noCache,
            Snapshotter = snapshotter,
        }, CancellationToken.None);
    }

    /// <summary>BuildKit, as the test engine embeds it, driven by Debian's docker client.</summary>
    public static ProcessResult BuildWithBuildKit(string context, string tag, IReadOnlyDictionary<string, string> buildArguments)
        => TestEnvironment.Run(
            "/usr/bin/docker",
            ["build", "--network", "none", "-t", tag, .. buildArguments.SelectMany(a => new[] { "--build-arg", $"{a.Key}={a.Value}" }), context],
            new Dictionary<string, string> { ["DOCKER_BUILDKIT"] = "1" },
            TimeSpan.FromMinutes(5));

    /// <summary>The parts of an image's config the Dockerfile decides, as the engine reports them.</summary>
    public static Dictionary<string, string> RunSettings(string image)
    {
        var inspect = TestEnvironment.Run("/usr/bin/docker", ["image", "inspect", "--format", "{{json .Config}}", image]).AssertSuccess();
        using var json = JsonDocument.Parse(inspect.StandardOutput);
        var settings = new Dictionary<string, string>();
        foreach (var name in new[] { "Env", "Cmd", "Entrypoint", "WorkingDir", "User", "ExposedPorts", "Labels", "Volumes", "StopSignal", "Healthcheck", "OnBuild" })
        {
            settings[name] = json.RootElement.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? Canonical(value) : "null";
        }

        return settings;
    }

    /// <summary>
    /// The file system of a container of the image, from `docker export`: for each path its type, mode, owner, size,
    /// link target and content hash (a hard link counts as a file with its target's content).
    /// </summary>
    public static SortedDictionary<string, string> ExportedFiles(string image, TempDirectory work)
    {
        var created = TestEnvironment.Run("/usr/bin/docker", ["create", "--network", "none", image, "/bin/sh"]).AssertSuccess().StandardOutput.Trim();
        var file = work.Combine($"export-{Guid.NewGuid():N}.tar");
        try
        {
            TestEnvironment.Run("/usr/bin/docker", ["export", "-o", file, created]).AssertSuccess();
        }
        finally
        {
            TestEnvironment.Run("/usr/bin/docker", ["rm", "-f", created]);
        }

        var files = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var hashes = new Dictionary<string, (long Size, string Hash)>(StringComparer.Ordinal);
        using var stream = File.OpenRead(file);
        using var reader = new TarReader(stream);
        while (reader.GetNextEntry() is { } entry)
        {
            var path = entry.Name.TrimEnd('/');
            var mode = Convert.ToString((int)entry.Mode, 8);
            var owner = $"{entry.Uid}:{entry.Gid}";
            switch (entry.EntryType)
            {
                case TarEntryType.Directory:
                    files[path] = $"dir {mode} {owner}";
                    break;
                case TarEntryType.SymbolicLink:
                    files[path] = $"symlink {owner} -> {entry.LinkName}";
                    break;
                case TarEntryType.HardLink:
                    var target = hashes[entry.LinkName.TrimEnd('/')];
                    files[path] = $"file {mode} {owner} {target.Size} {target.Hash}";
                    break;
                case TarEntryType.RegularFile or TarEntryType.V7RegularFile:
                    var hash = entry.DataStream is null ? Convert.ToHexStringLower(SHA256.HashData([])) : Convert.ToHexStringLower(SHA256.HashData(entry.DataStream));
                    hashes[path] = (entry.Length, hash);
                    files[path] = $"file {mode} {owner} {entry.Length} {hash}";
                    break;
                case TarEntryType.CharacterDevice or TarEntryType.BlockDevice:
                    var device = (PosixTarEntry)entry;
                    files[path] = $"{entry.EntryType} {mode} {owner} {device.DeviceMajor},{device.DeviceMinor}";
                    break;
                default:
                    files[path] = $"{entry.EntryType} {mode} {owner}";
                    break;
            }
        }

        return files;
    }

    /// <summary>Writes archive.tar and its gzip, bzip2 and xz forms into a context, from a tree with owners, modes and links.</summary>
    public static void MakeArchives(string context, TempDirectory work)
    {
        var source = work.Combine($"archive-src-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path.Combine(source, "top", "nested"));
        Directory.CreateDirectory(Path.Combine(source, "emptydir"));
        File.WriteAllText(Path.Combine(source, "top", "file.txt"), "in the archive\n");
        File.WriteAllText(Path.Combine(source, "top", "nested", "exec.sh"), "#!/bin/sh\necho exec\n");
        File.CreateSymbolicLink(Path.Combine(source, "top", "link"), "file.txt");
        File.SetUnixFileMode(Path.Combine(source, "top", "nested", "exec.sh"), (UnixFileMode)Convert.ToInt32("755", 8));
        File.SetUnixFileMode(Path.Combine(source, "top", "file.txt"), (UnixFileMode)Convert.ToInt32("640", 8));
        File.SetUnixFileMode(Path.Combine(source, "top"), (UnixFileMode)Convert.ToInt32("750", 8));
        TestEnvironment.Run("chown", ["-R", "1000:50", Path.Combine(source, "top")]).AssertSuccess();
        foreach (var (name, flag) in new[] { ("archive.tar", "-cf"), ("archive.tar.gz", "-czf"), ("archive.tar.bz2", "-cjf"), ("archive.tar.xz", "-cJf") })
        {
            TestEnvironment.Run("tar", ["--numeric-owner", "-C", source, flag, Path.Combine(context, name), "top", "emptydir"]).AssertSuccess();
        }
    }

    /// <summary>A small Linux root: static busybox with its applets, users and groups, and files the corpus changes.</summary>
    private static void MakeBaseRootfs(string root)
    {
        var busybox = new[] { "/bin/busybox", "/usr/bin/busybox" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("busybox is not installed; run `bash eng/test-env.sh` (it installs busybox-static).");
        UnixFileMode Mode(string octal) => (UnixFileMode)Convert.ToInt32(octal, 8);
        foreach (var directory in new[] { "bin", "etc", "tmp", "root", "home/bob", "home/alice", "opt/x", "var/lib/data", "usr/share/doc", "usr/local/bin" })
        {
            Directory.CreateDirectory(Path.Combine(root, directory));
        }

        File.Copy(busybox, Path.Combine(root, "bin", "busybox"));
        File.SetUnixFileMode(Path.Combine(root, "bin", "busybox"), Mode("755"));
        var applets = TestEnvironment.Run(busybox, ["--list"]).AssertSuccess().StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var applet in applets.Where(a => a != "busybox"))
        {
            File.CreateSymbolicLink(Path.Combine(root, "bin", applet), "busybox");
        }

        File.WriteAllText(Path.Combine(root, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\nbob:x:1000:1000:Bob:/home/bob:/bin/sh\nalice:x:1001:1001:Alice:/home/alice:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
        File.WriteAllText(Path.Combine(root, "etc", "group"), "root:x:0:\nstaff:x:50:alice\nbob:x:1000:\nalice:x:1001:\nnogroup:x:65534:\n");
        File.WriteAllText(Path.Combine(root, "etc", "group-"), "root:x:0:\n");
        File.WriteAllText(Path.Combine(root, "etc", "motd"), "base motd\n");
        File.WriteAllText(Path.Combine(root, "opt", "x", "inner"), "inner\n");
        File.WriteAllText(Path.Combine(root, "var", "lib", "data", "file"), "data\n");
        File.WriteAllText(Path.Combine(root, "usr", "share", "doc", "readme"), "readme\n");
        TestEnvironment.Run("ln", [Path.Combine(root, "usr", "share", "doc", "readme"), Path.Combine(root, "usr", "share", "doc", "readme-link")]).AssertSuccess();
        File.SetUnixFileMode(Path.Combine(root, "tmp"), Mode("1777"));
        File.SetUnixFileMode(Path.Combine(root, "root"), Mode("700"));
        TestEnvironment.Run("chown", ["1000:1000", Path.Combine(root, "home", "bob")]).AssertSuccess();
        TestEnvironment.Run("chown", ["1001:1001", Path.Combine(root, "home", "alice")]).AssertSuccess();
    }

    private static string Canonical(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => "{" + string.Join(",", value.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal).Select(p => $"{p.Name}:{Canonical(p.Value)}")) + "}",
        JsonValueKind.Array => "[" + string.Join(",", value.EnumerateArray().Select(Canonical)) + "]",
        _ => value.GetRawText(),
    };

    public void Dispose()
    {
        if (_setup.IsValueCreated)
        {
            _setup.Value.Server.Dispose();
        }

        _work.Dispose();
    }
}
