using Sdk.Containers.Archives;
using Sdk.Containers.References;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Integration;

/// <summary>
/// Our tarball in Podman (the tests' own configuration: vfs, no network): `podman load`, LocalRegistry=Podman, and
/// Podman found when Docker does not answer; and the names a tarball with several gives Podman and Docker.
/// </summary>
[Collection(EnvironmentCollection.Name)]
public sealed class PodmanTests(TestEnvironment env)
{
    private const string ExpectedLine = "Hello from Sdk.Containers!";

    private void Require()
    {
        env.Require();
        TestPodman.Require();
    }

    private string[] PublishArguments(params string[] more)
        => ["-p:PublishContainer=true", $"-p:ContainerBaseImage=oci:{env.BaseLayout}:runtime", .. more];

    private static string[] PodmanNamesOf(string id)
        => TestPodman.Run("image", "inspect", "--format", "{{range .RepoTags}}{{println .}}{{end}}", id).AssertSuccess("podman image inspect")
            .StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Order(StringComparer.Ordinal).ToArray();

    private static void AssertPodmanRuns(string image, string argument)
    {
        var run = TestPodman.Run("run", "--rm", "--network", "none", image, argument).AssertSuccess("podman run");
        Assert.Contains(ExpectedLine, run.Output);
        Assert.Contains(argument, run.Output);
    }

    [Fact]
    public async Task PodmanLoadsOurTarballUnderItsNameAndRunsIt()
    {
        Require();
        var project = env.CopySample("hello");
        var tag = $"podman-{Guid.NewGuid():N}"[..16];
        var archive = Path.Combine(project, "out", "hello.tar");
        env.Publish(project, PublishArguments($"-p:ContainerArchiveOutputPath={archive}", $"-p:ContainerImageTags={tag}")).AssertSuccess();
        var ours = (await new Sources.ImageLoader(new BlobStore(env.Cache)).LoadAllAsync(Sources.ImageSource.Parse("docker-archive:" + archive), CancellationToken.None))[0].Image;

        TestPodman.Run("load", "-i", archive).AssertSuccess("podman load");
        var name = $"docker.io/library/hello:{tag}";
        try
        {
            var id = TestPodman.Run("image", "inspect", "--format", "{{.Id}}", name).AssertSuccess("podman image inspect");
            Assert.Equal(ours.ConfigDigest.Hex, id.StandardOutput.Trim());
            Assert.Equal([name], PodmanNamesOf(name));
            AssertPodmanRuns($"hello:{tag}", "from-podman");
        }
        finally
        {
            TestPodman.Run("rmi", "-f", name);
        }
    }

    /// <summary>
    /// Several names make index.json list the image several times; Podman then reads manifest.json's RepoTags and puts
    /// localhost/ in front of a name without a registry. Written with the registry, Podman keeps each name as given,
    /// and Docker, which shows names in their familiar form, still shows team/x:t1.
    /// </summary>
    [Fact]
    public async Task SeveralNamesKeepTheirRegistryInPodmanAndTheirFamiliarFormInDocker()
    {
        Require();
        var id = Guid.NewGuid().ToString("N")[..8];
        using var work = new TempDirectory();
        var image = await TestImages.BuildAsync(work, new BlobStore(work.Combine("cache")), content: id);
        var archive = work.Combine("names.tar");
        string[] names = [$"team/x{id}:t1", $"team/x{id}:t2", $"y{id}:t3", $"127.0.0.1:5000/z{id}:t4", $"localhost/w{id}:t5"];
        await DockerArchiveWriter.WriteAsync(image, names.Select(n => ImageReference.Parse(n)).ToArray(), archive, DateTimeOffset.FromUnixTimeSeconds(1), CancellationToken.None);

        TestPodman.Run("load", "-i", archive).AssertSuccess("podman load");
        try
        {
            Assert.Equal(
                [$"127.0.0.1:5000/z{id}:t4", $"docker.io/library/y{id}:t3", $"docker.io/team/x{id}:t1", $"docker.io/team/x{id}:t2", $"localhost/w{id}:t5"],
                PodmanNamesOf(image.ConfigDigest.Hex));
        }
        finally
        {
            TestPodman.Run("rmi", "-f", image.ConfigDigest.Hex);
        }

        env.Docker("load", "-i", archive).AssertSuccess("docker load");
        try
        {
            var tags = env.Docker("image", "inspect", "--format", "{{range .RepoTags}}{{println .}}{{end}}", image.ConfigDigest.ToString()).AssertSuccess("docker image inspect");
            Assert.Equal(
                [$"127.0.0.1:5000/z{id}:t4", $"localhost/w{id}:t5", $"team/x{id}:t1", $"team/x{id}:t2", $"y{id}:t3"],
                tags.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Order(StringComparer.Ordinal));
        }
        finally
        {
            env.Docker("rmi", "-f", image.ConfigDigest.ToString());
        }
    }

    [Fact]
    public void LocalRegistryPodmanLoadsIntoPodmanUnderEveryTagAndNotIntoDocker()
    {
        Require();
        var project = env.CopySample("hello");
        var repository = $"team/hello-{Guid.NewGuid():N}"[..20];
        env.Publish(project, PublishArguments("-p:LocalRegistry=Podman", $"-p:ContainerRepository={repository}", "-p:ContainerImageTags=\"t1;t2\""),
            TestPodman.EnvironmentWith()).AssertSuccess();
        try
        {
            Assert.Equal([$"docker.io/{repository}:t1", $"docker.io/{repository}:t2"], PodmanNamesOf($"docker.io/{repository}:t1"));
            AssertPodmanRuns($"{repository}:t2", "local-registry");
            Assert.NotEqual(0, env.Docker("image", "inspect", $"{repository}:t1").ExitCode);
        }
        finally
        {
            TestPodman.Run("rmi", "-f", $"docker.io/{repository}:t1", $"docker.io/{repository}:t2");
        }
    }

    [Fact]
    public void WithDockerNotAnsweringThePublishFindsPodmanAndLoadsIntoIt()
    {
        Require();
        var project = env.CopySample("hello");
        var tag = $"detect-{Guid.NewGuid():N}"[..16];
        var result = env.Publish(project, PublishArguments($"-p:ContainerImageTags={tag}"),
            TestPodman.EnvironmentWith(("DOCKER_HOST", "unix:///nonexistent/docker.sock"))).AssertSuccess();
        var name = $"docker.io/library/hello:{tag}";
        try
        {
            Assert.DoesNotContain("CONTAINER1031", result.Output);
            Assert.False(File.Exists(Path.Combine(project, "bin", "Release", "net10.0", "container", "hello.tar")), "The image went to the fallback tarball, not to Podman.");
            Assert.Equal([name], PodmanNamesOf(name));
            AssertPodmanRuns(name, "detected");
        }
        finally
        {
            TestPodman.Run("rmi", "-f", name);
        }
    }
}
