namespace Sdk.Containers.Integration;

/// <summary>`dotnet publish` of a project that sets ContainerDockerfile: its Dockerfile is built on the publish folder.</summary>
[Collection(EnvironmentCollection.Name)]
public sealed class DockerfileProjectTests(TestEnvironment env, RegistryFixture registry) : IClassFixture<RegistryFixture>
{
    [Fact]
    public void ContainerDockerfileBuildsTheProjectsDockerfileWithThePublishFolderAsContext()
    {
        env.Require();
        var project = env.CopySample("hello");
        File.WriteAllText(Path.Combine(project, "Dockerfile"), """
            ARG BASE
            FROM ${BASE}
            WORKDIR /app
            COPY . .
            RUN test -f /app/hello.dll && echo "published files arrived" > /app/built-by-dockerfile.txt
            USER 1654
            ENTRYPOINT ["dotnet", "/app/hello.dll"]
            CMD ["from", "the", "dockerfile"]
            """);
        var csproj = Path.Combine(project, "hello.csproj");
        File.WriteAllText(csproj, File.ReadAllText(csproj).Replace("</Project>", """
              <ItemGroup>
                <ContainerBuildArg Include="BASE" Value="$(TestBaseImage)" />
              </ItemGroup>
            </Project>
            """));
        var tag = $"df-{Guid.NewGuid():N}"[..14];
        var archive = Path.Combine(project, "out", "hello.tar");
        var binlog = Path.Combine(project, "publish.binlog");
        var publish = env.Publish(project, [
            "-p:PublishContainer=true",
            "-p:ContainerDockerfile=Dockerfile",
            $"-p:TestBaseImage={registry.Server.Host}/dotnet/runtime:10.0",
            $"-p:ContainerArchiveOutputPath={archive}",
            $"-p:ContainerImageTags={tag}",
            $"-bl:{binlog}",
        ]).AssertSuccess();
        Assert.Contains("RUN test -f /app/hello.dll", publish.Output);

        var tasks = Binlogs.TaskNames(binlog);
        Assert.Contains("BuildDockerfileImage", tasks);
        Assert.DoesNotContain("BuildContainerImage", tasks);

        env.Docker("load", "-i", archive).AssertSuccess();
        var run = env.Docker("run", "--rm", "--network", "none", $"hello:{tag}").AssertSuccess();
        Assert.Contains("Hello from Sdk.Containers!", run.Output);
        Assert.Contains("from the dockerfile", run.Output);
        var marker = env.Docker("run", "--rm", "--network", "none", "--entrypoint", "cat", $"hello:{tag}", "/app/built-by-dockerfile.txt").AssertSuccess();
        Assert.Contains("published files arrived", marker.Output);

        // ContainerCacheTo / ContainerCacheFrom: a fresh runner (an empty cache directory) takes every step from the
        // folder an earlier publish exported, and makes the same image.
        var stepCache = Path.Combine(project, "step-cache");
        var exported = env.Publish(project, [
            "-p:PublishContainer=true", "-p:ContainerDockerfile=Dockerfile", $"-p:TestBaseImage={registry.Server.Host}/dotnet/runtime:10.0",
            $"-p:ContainerArchiveOutputPath={archive}", $"-p:ContainerImageTags={tag}", $"-p:ContainerCacheTo=type=local%2Cdest={stepCache}%2Cmode=max", // %2C: a comma would end the -p value
        ]).AssertSuccess();
        Assert.Contains($"Exported the build cache to {stepCache} (max): 3 steps", exported.Output);
        var fresh = env.Publish(project, [
            "-p:PublishContainer=true", "-p:ContainerDockerfile=Dockerfile", $"-p:TestBaseImage={registry.Server.Host}/dotnet/runtime:10.0",
            $"-p:ContainerArchiveOutputPath={Path.Combine(project, "out", "fresh.tar")}", $"-p:ContainerImageTags={tag}",
            $"-p:ContainerCacheFrom=type=local%2Csrc={stepCache}", $"-p:ContainerCacheDirectory={Path.Combine(project, "fresh-runner-cache")}",
        ]).AssertSuccess();
        Assert.Contains("0 steps run, 3 from the cache (3 of them from --cache-from)", fresh.Output);
    }

    [Fact]
    public void WithSeveralRuntimeIdentifiersTheDockerfileIsBuiltPerPlatformIntoOneIndex()
    {
        env.Require();
        var host = registry.Server.Host;
        var project = env.CopySample("hello");
        File.WriteAllText(Path.Combine(project, "Dockerfile"), """
            ARG BASE
            FROM ${BASE}
            ARG TARGETARCH
            WORKDIR /app
            COPY . .
            LABEL built.for=${TARGETARCH}
            ENTRYPOINT ["./hello"]
            """);
        var csproj = Path.Combine(project, "hello.csproj");
        File.WriteAllText(csproj, File.ReadAllText(csproj).Replace("</Project>", """
              <PropertyGroup>
                <ContainerRuntimeIdentifiers>linux-x64;linux-arm64</ContainerRuntimeIdentifiers>
                <SelfContained>true</SelfContained>
              </PropertyGroup>
              <ItemGroup>
                <ContainerBuildArg Include="BASE" Value="$(TestBaseImage)" />
              </ItemGroup>
            </Project>
            """));
        var tag = $"dfm-{Guid.NewGuid():N}"[..14];
        var binlog = Path.Combine(project, "publish.binlog");
        env.Publish(project, [
            "-p:PublishContainer=true",
            "-p:ContainerDockerfile=Dockerfile",
            $"-p:TestBaseImage={host}/dotnet/runtime-deps-multi:10.0",
            $"-p:ContainerRegistry={host}",
            $"-p:ContainerImageTags={tag}",
            $"-bl:{binlog}",
        ]).AssertSuccess();

        // One Dockerfile build per RID, on that RID's publish folder, and one index over them.
        var tasks = Binlogs.TaskNames(binlog);
        Assert.Equal(2, tasks.Count(t => t == "BuildDockerfileImage"));
        Assert.Contains("PublishContainerIndex", tasks);
        Assert.DoesNotContain("BuildContainerImage", tasks);
        var reference = $"{host}/hello:{tag}";
        Assert.Equal(new Dictionary<string, int> { ["amd64"] = 0x3E, ["arm64"] = 0xB7 }, IndexFiles.ElfMachines(reference, "app/hello"));
        var arm = TestEnvironment.Run("/usr/bin/skopeo", ["inspect", "--tls-verify=false", "--override-arch", "arm64", $"docker://{reference}"]).AssertSuccess();
        Assert.Contains("\"built.for\": \"arm64\"", arm.StandardOutput);

        env.Docker("pull", reference).AssertSuccess();
        try
        {
            var run = env.Docker("run", "--rm", "--network", "none", reference).AssertSuccess();
            Assert.Contains("Hello from Sdk.Containers!", run.Output);
        }
        finally
        {
            env.Docker("rmi", "-f", reference);
        }
    }
}
