using System.Diagnostics;
using System.Text.Json;
using Sdk.Containers.Archives;
using Sdk.Containers.Building;
using Sdk.Containers.References;
using Sdk.Containers.Sources;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Integration;

/// <summary>
/// docker-daemon: and podman: bases: the image a local engine has, exported once per image ID and verified, on the
/// MSBuild path and the CLI's. Exports are counted by the engine's own `save` events, not by our log alone.
/// </summary>
[Collection(EnvironmentCollection.Name)]
public sealed class EngineBaseImageTests(TestEnvironment env)
{
    [Fact]
    public async Task APublishOnADockerDaemonBaseHasTheEnginesLayersAndTheSecondPublishExportsNothing()
    {
        env.Require();
        using var work = new TempDirectory();
        using var engineBase = await EngineBase.LoadAsync("docker", Path.Combine(env.BaseImages, "runtime.tar"), work);
        using var events = EngineEvents.Start("docker");
        var project = env.CopySample("hello");
        var archive = Path.Combine(project, "out", "hello.tar");
        string[] args = ["-p:PublishContainer=true", $"-p:ContainerBaseImage=docker-daemon:{engineBase.Name}", $"-p:ContainerArchiveOutputPath={archive}", $"-p:ContainerCacheDirectory={work.Combine("cache")}"];

        var first = env.Publish(project, args).AssertSuccess("first publish");
        Assert.Single(Lines(first, $"Exporting base image docker-daemon:{engineBase.Name} ({engineBase.Id}) from docker"));
        var published = (await new ImageLoader(new BlobStore(work.Combine("check"))).LoadAllAsync(ImageSource.Parse("docker-archive:" + archive), CancellationToken.None)).Single();
        var engineLayers = engineBase.DiffIds();
        Assert.NotEmpty(engineLayers);
        Assert.Equal(engineLayers, published.Image.Config.RootFs.DiffIds.Take(engineLayers.Count).Select(d => d.ToString()));
        Assert.True(published.Image.Config.RootFs.DiffIds.Count > engineLayers.Count, "The app's layers are missing.");
        Assert.Equal(engineBase.Label, published.Image.Config.Config?.Labels?.GetValueOrDefault(EngineBase.LabelName));

        var second = env.Publish(project, args).AssertSuccess("second publish");
        Assert.Empty(Lines(second, "Exporting base image"));
        Assert.Single(Lines(second, $"Base image docker-daemon:{engineBase.Name} is the docker image {engineBase.Id}, exported by an earlier build: taken from the build cache, not exported again"));
        Assert.Contains("verified in an earlier build and unchanged since", second.Output);

        Assert.Equal(1, events.SavesOf(engineBase));
    }

    [Fact]
    public async Task TheCliReadsADockerDaemonImageOnceByItsId()
    {
        env.Require();
        using var work = new TempDirectory();
        using var engineBase = await EngineBase.LoadAsync("docker", Path.Combine(env.BaseImages, "runtime-deps.tar"), work);
        await AssertTheCliExportsOnceAsync(engineBase, "docker-daemon", work);
    }

    /// <summary>Podman comes from eng/test-env.sh once it installs it; until then this fails saying so.</summary>
    [Fact]
    public async Task TheCliReadsAPodmanImageOnceByItsId()
    {
        env.Require();
        Assert.True(File.Exists("/usr/bin/podman"), "/usr/bin/podman is not installed. Run `bash eng/test-env.sh` (it installs Podman).");
        using var work = new TempDirectory();
        using var engineBase = await EngineBase.LoadAsync("podman", Path.Combine(env.BaseImages, "runtime-deps.tar"), work);
        await AssertTheCliExportsOnceAsync(engineBase, "podman", work);
    }

    [Fact]
    public void ABaseTheEngineDoesNotHaveFailsNamingItAndHowToGetIt()
    {
        env.Require();
        var project = env.CopySample("hello");
        var name = $"sdkc-daemonbase/absent-{Guid.NewGuid():N}"[..40] + ":1";
        var archive = Path.Combine(project, "out", "hello.tar");
        var result = env.Publish(project, ["-p:PublishContainer=true", $"-p:ContainerBaseImage=docker-daemon:{name}", $"-p:ContainerArchiveOutputPath={archive}"]);

        Assert.NotEqual(0, result.ExitCode);
        // MSBuild prints the error where it happened and again in its summary.
        var errors = Lines(result, "error CONTAINER1033");
        Assert.True(errors.Length > 0, $"No error CONTAINER1033 in:\n{result.Output}");
        var error = errors[0];
        Assert.Contains($"The base image docker-daemon:{name}: the Docker engine at DOCKER_HOST={env.DockerHost} has no image '{name}'", error);
        Assert.Contains($"`docker pull {name}`", error);
        Assert.Contains($"`docker build -t {name} .`", error);
        Assert.DoesNotContain("   at ", result.Output);
        Assert.False(File.Exists(archive));
    }

    [Fact]
    public void AnEngineThatDoesNotAnswerFailsNamingTheBaseAndWhereItWasLookedFor()
    {
        env.Require();
        const string socket = "unix:///nonexistent/sdkc-daemonbase.sock";
        var result = TestEnvironment.Cli(["inspect", "docker-daemon:team/base:1"], new Dictionary<string, string> { ["DOCKER_HOST"] = socket });

        Assert.Equal(1, result.ExitCode);
        var error = Assert.Single(Lines(result, "error CONTAINER1032"));
        Assert.Contains($"The base image docker-daemon:team/base:1 is read from the Docker engine at DOCKER_HOST={socket}, which did not answer (Cannot connect to the Docker daemon", error);
        Assert.DoesNotContain("   at ", result.Output);
    }

    private static async Task AssertTheCliExportsOnceAsync(EngineBase engineBase, string transport, TempDirectory work)
    {
        using var events = EngineEvents.Start(engineBase.Engine);
        var cache = work.Combine("cli-cache");
        string[] inspect = ["inspect", "--json", "--cache", cache, $"{transport}:{engineBase.Name}"];

        var first = TestEnvironment.Cli(inspect).AssertSuccess("first inspect");
        Assert.Single(Lines(first, $"Exporting base image {transport}:{engineBase.Name} ({engineBase.Id}) from {engineBase.Engine}"));
        var second = TestEnvironment.Cli(inspect).AssertSuccess("second inspect");
        Assert.Empty(Lines(second, "Exporting base image"));
        Assert.Single(Lines(second, "exported by an earlier build: taken from the build cache, not exported again"));

        foreach (var run in new[] { first, second })
        {
            using var json = JsonDocument.Parse(run.StandardOutput);
            Assert.Equal(engineBase.Id, json.RootElement.GetProperty("imageId").GetString());
            Assert.Equal(engineBase.DiffIds(), json.RootElement.GetProperty("layers").EnumerateArray().Select(l => l.GetProperty("diffId").GetString()!));
        }

        Assert.Equal(1, events.SavesOf(engineBase));
    }

    private static string[] Lines(ProcessResult result, string text)
        => result.Output.Split('\n').Where(l => l.Contains(text, StringComparison.Ordinal)).ToArray();

    /// <summary>
    /// An image of this test's own in the engine: a test base with a label no other image has, so its ID is unique and
    /// the engine's events about it are this test's.
    /// </summary>
    /// <param name="Id">sha256:HEX, whatever the engine prints.</param>
    private sealed record EngineBase(string Engine, string Name, string Id, string Label) : IDisposable
    {
        public const string LabelName = "org.sdk-containers.test";

        public static async Task<EngineBase> LoadAsync(string engine, string baseArchive, TempDirectory work)
        {
            var store = new BlobStore(work.Combine("base-cache"));
            var test = (await new ImageLoader(store).LoadAllAsync(ImageSource.Parse("docker-archive:" + baseArchive), CancellationToken.None)).Single();
            var label = Guid.NewGuid().ToString("N");
            var image = new ImageBuilder(test.Image) { Created = DateTimeOffset.FromUnixTimeSeconds(1) }.SetLabel(LabelName, label).Build();
            var name = $"sdkc-daemonbase/{engine}-{label[..12]}:1";
            var archive = work.Combine("engine-base.tar");
            await DockerArchiveWriter.WriteAsync(image, [ImageReference.Parse(name)], archive, DateTimeOffset.FromUnixTimeSeconds(1), CancellationToken.None);
            TestEnvironment.Run($"/usr/bin/{engine}", ["load", "-i", archive], timeout: TimeSpan.FromMinutes(3)).AssertSuccess($"{engine} load");
            var id = TestEnvironment.Run($"/usr/bin/{engine}", ["image", "inspect", "--format", "{{.Id}}", name]).AssertSuccess($"{engine} image inspect").StandardOutput.Trim();
            var loaded = new EngineBase(engine, name, id.StartsWith("sha256:", StringComparison.Ordinal) ? id : "sha256:" + id, label);
            Assert.Equal(image.ConfigDigest.ToString(), loaded.Id);
            return loaded;
        }

        /// <summary>The layers as the engine lists them.</summary>
        public IReadOnlyList<string> DiffIds()
        {
            var inspect = TestEnvironment.Run($"/usr/bin/{Engine}", ["image", "inspect", "--format", "{{json .RootFS.Layers}}", Name]).AssertSuccess($"{Engine} image inspect");
            return JsonSerializer.Deserialize<string[]>(inspect.StandardOutput.Trim())!;
        }

        public void Dispose() => TestEnvironment.Run($"/usr/bin/{Engine}", ["rmi", "-f", Id]);
    }

    /// <summary>
    /// The engine's image events (save and tag), from before the test's first export on. A tag made at the end is the
    /// sentinel: the engine delivers events in order, so once it arrives every save before it has too.
    /// </summary>
    private sealed class EngineEvents : IDisposable
    {
        private readonly Process _process;
        private readonly List<string> _lines = [];
        private readonly string _engine;

        private EngineEvents(string engine, Process process)
        {
            _engine = engine;
            _process = process;
        }

        public static EngineEvents Start(string engine)
        {
            var info = new ProcessStartInfo($"/usr/bin/{engine}") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            var since = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 1;
            foreach (var argument in new[] { "events", "--since", since.ToString(System.Globalization.CultureInfo.InvariantCulture), "--filter", "event=save", "--filter", "event=tag", "--format", "{{.Status}} {{.ID}}" })
            {
                info.ArgumentList.Add(argument);
            }

            var events = new EngineEvents(engine, Process.Start(info)!);
            events._process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is not null)
                {
                    lock (events._lines)
                    {
                        events._lines.Add(e.Data.Trim());
                        Monitor.PulseAll(events._lines);
                    }
                }
            };
            events._process.BeginOutputReadLine();
            events._process.BeginErrorReadLine();
            return events;
        }

        /// <summary>How many times the engine saved the image up to now.</summary>
        public int SavesOf(EngineBase image)
        {
            TestEnvironment.Run($"/usr/bin/{_engine}", ["tag", image.Id, $"{image.Name}-sentinel"]).AssertSuccess($"{_engine} tag (the events' sentinel)");
            lock (_lines)
            {
                while (!_lines.Any(l => IsOf(l, "tag", image)))
                {
                    Assert.False(_process.HasExited, $"`{_engine} events` stopped:\n{string.Join('\n', _lines)}");
                    Assert.True(Monitor.Wait(_lines, TimeSpan.FromMinutes(2)), $"`{_engine} events` did not report the sentinel tag of {image.Id}:\n{string.Join('\n', _lines)}");
                }

                return _lines.TakeWhile(l => !IsOf(l, "tag", image)).Count(l => IsOf(l, "save", image));
            }
        }

        // Docker prints sha256:HEX, Podman the hex alone.
        private static bool IsOf(string line, string action, EngineBase image)
        {
            if (!line.StartsWith(action + " ", StringComparison.Ordinal))
            {
                return false;
            }

            var id = line[(action.Length + 1)..];
            return (id.StartsWith("sha256:", StringComparison.Ordinal) ? id : "sha256:" + id) == image.Id;
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill();
            }

            _process.Dispose();
        }
    }
}
