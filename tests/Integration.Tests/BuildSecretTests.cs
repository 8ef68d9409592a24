using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;

namespace Sdk.Containers.Integration;

/// <summary>
/// RUN --mount=type=secret and type=ssh, as buildx: the command reads the secret (file and environment variable), and
/// its value is in no output: not in the image's layers or config (decompressed), the cache directory, the build's
/// output or the MSBuild binary log.
/// </summary>
[Collection(EnvironmentCollection.Name)]
public sealed class BuildSecretTests(TestEnvironment env, RegistryFixture registry) : IClassFixture<RegistryFixture>
{
    private static string Hash(string value) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)));

    /// <summary>Every file under the directory, gzip members decompressed and tar archives opened, has no needle.</summary>
    private static int AssertAbsent(string needle, string directory)
    {
        var searched = 0;
        foreach (var file in Directory.EnumerateFiles(directory, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
        {
            if (new FileInfo(file).LinkTarget is not null || !Posix(file))
            {
                continue;
            }

            AssertAbsentFromBytes(needle, File.ReadAllBytes(file), file);
            searched++;
        }

        return searched;
    }

    private static bool Posix(string file) => IO.Posix.LStat(file).Type == IO.UnixFileType.Regular;

    private static void AssertAbsentFromBytes(string needle, byte[] bytes, string where)
    {
        foreach (var form in new[] { Encoding.UTF8.GetBytes(needle), Encoding.Unicode.GetBytes(needle), Encoding.UTF8.GetBytes(Convert.ToBase64String(Encoding.UTF8.GetBytes(needle))) })
        {
            Assert.True(bytes.AsSpan().IndexOf(form) < 0, $"the secret is in {where}");
        }

        if (bytes.Length > 2 && bytes[0] == 0x1f && bytes[1] == 0x8b)
        {
            using var inflated = new MemoryStream();
            using (var gzip = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress))
            {
                gzip.CopyTo(inflated);
            }

            AssertAbsentFromBytes(needle, inflated.ToArray(), where + " (decompressed)");
        }
    }

    [Fact]
    public void ASecretReadByARunIsInNoOutputAndItsMountLeavesNothing()
    {
        env.Require();
        using var work = new TempDirectory();
        var password = "pw-" + Guid.NewGuid().ToString("N");
        var token = "tk-" + Guid.NewGuid().ToString("N");
        var nugetConfig = $"<configuration><packageSourceCredentials><feed><add key=\"Username\" value=\"ci\" /><add key=\"ClearTextPassword\" value=\"{password}\" /></feed></packageSourceCredentials></configuration>";
        var secretFile = work.WriteFile("secrets/nuget.config", nugetConfig);
        work.WriteFile("context/Dockerfile", $"""
            FROM oci:{env.BaseLayout}:runtime-deps
            RUN --mount=type=secret,id=nuget,target=/root/.nuget/NuGet/NuGet.Config mkdir /out && sha256sum /root/.nuget/NuGet/NuGet.Config | cut -c1-64 > /out/file-hash
            RUN --mount=type=secret,id=token,env=FEED_TOKEN printf %s "$FEED_TOKEN" | sha256sum | cut -c1-64 > /out/env-hash
            RUN --mount=type=secret,id=absent test ! -e /run/secrets/absent && echo optional-secret-skipped > /out/optional
            """);
        var cache = work.Combine("cache");
        var output = work.Combine("image");
        var build = TestEnvironment.Cli(["build", work.Combine("context"), "--cache", cache, "--progress", "plain",
            "--secret", $"id=nuget,src={secretFile}", "--secret", "id=token,env=FEED_TOKEN_FOR_TEST",
            "-o", $"type=oci,dest={output},tar=false"], new Dictionary<string, string> { ["FEED_TOKEN_FOR_TEST"] = token, ["SDK_CONTAINERS_VERBOSE"] = "1" }).AssertSuccess();

        // The commands read both forms.
        var files = ExtractFiles(output);
        Assert.Equal(Hash(nugetConfig), files["out/file-hash"].Trim());
        Assert.Equal(Hash(token), files["out/env-hash"].Trim());
        Assert.Equal("optional-secret-skipped", files["out/optional"].Trim());
        Assert.DoesNotContain(files.Keys, p => p.StartsWith("root/.nuget", StringComparison.Ordinal) || p.StartsWith("run/", StringComparison.Ordinal));

        foreach (var secret in new[] { password, token })
        {
            AssertAbsentFromBytes(secret, Encoding.UTF8.GetBytes(build.Output), "the build's output");
            Assert.True(AssertAbsent(secret, output) > 3, "the image was searched");
            Assert.True(AssertAbsent(secret, cache) > 3, "the cache was searched");
        }

        // A required secret that was not given fails the step, naming it and what to pass.
        work.WriteFile("context/Dockerfile", $"FROM oci:{env.BaseLayout}:runtime-deps\nRUN --mount=type=secret,id=nuget,required=true true\n");
        var missing = TestEnvironment.Cli(["build", work.Combine("context"), "--cache", cache, "--progress", "plain"]);
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("no secret 'nuget' was given; pass --secret id=nuget,src=FILE", missing.Output);
    }

    [Fact]
    public void AnSshMountGivesTheCommandTheAgentSocket()
    {
        env.Require();
        using var work = new TempDirectory();
        var socket = work.Combine("agent.sock");
        using (var listener = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified))
        {
            listener.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(socket));
            listener.Listen();
            work.WriteFile("context/Dockerfile", $"FROM oci:{env.BaseLayout}:runtime-deps\nRUN --mount=type=ssh test -S \"$SSH_AUTH_SOCK\" && echo \"agent at $SSH_AUTH_SOCK\" > /ssh-seen\n");
            var output = work.Combine("image");
            TestEnvironment.Cli(["build", work.Combine("context"), "--cache", work.Combine("cache"), "--ssh", $"default={socket}", "-o", $"type=oci,dest={output},tar=false"]).AssertSuccess();
            var files = ExtractFiles(output);
            Assert.Equal("agent at /run/buildkit/ssh_agent.0", files["ssh-seen"].Trim());
            Assert.DoesNotContain(files.Keys, p => p.StartsWith("run/", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void ContainerBuildSecretItemsReachTheRunAndNotTheBinlog()
    {
        env.Require();
        var project = env.CopySample("hello");
        var password = "msb-" + Guid.NewGuid().ToString("N");
        File.WriteAllText(Path.Combine(project, "Dockerfile"), """
            ARG BASE
            FROM ${BASE}
            WORKDIR /app
            COPY . .
            RUN --mount=type=secret,id=feed,env=FEED_PASSWORD printf %s "$FEED_PASSWORD" | sha256sum | cut -c1-64 > /app/secret-hash
            ENTRYPOINT ["dotnet", "/app/hello.dll"]
            """);
        var csproj = Path.Combine(project, "hello.csproj");
        File.WriteAllText(csproj, File.ReadAllText(csproj).Replace("</Project>", """
              <ItemGroup>
                <ContainerBuildArg Include="BASE" Value="$(TestBaseImage)" />
                <ContainerBuildSecret Include="feed" EnvironmentVariable="TEST_FEED_PASSWORD" />
              </ItemGroup>
            </Project>
            """));
        var archive = Path.Combine(project, "out", "hello.tar");
        var binlog = Path.Combine(project, "publish.binlog");
        var cache = Path.Combine(project, "cache");
        var publish = TestEnvironment.Run("dotnet", ["publish", project, "-c", "Release", "-p:PublishContainer=true", "-p:ContainerDockerfile=Dockerfile",
            $"-p:TestBaseImage={registry.Server.Host}/dotnet/runtime:10.0", $"-p:ContainerArchiveOutputPath={archive}", $"-p:ContainerCacheDirectory={cache}", $"-bl:{binlog}"],
            new Dictionary<string, string> { ["TEST_FEED_PASSWORD"] = password }, TimeSpan.FromMinutes(5)).AssertSuccess();

        env.Docker("load", "-i", archive).AssertSuccess();
        var hash = env.Docker("run", "--rm", "--network", "none", "--entrypoint", "cat", "hello:latest", "/app/secret-hash").AssertSuccess();
        Assert.Equal(Hash(password), hash.StandardOutput.Trim());
        Secrets.AssertAbsent(password, publish.Output, binlog);
        Assert.True(AssertAbsent(password, cache) > 3, "the cache was searched");
        AssertAbsentFromBytes(password, File.ReadAllBytes(archive), archive);
    }

    /// <summary>The files of an OCI layout's single image, its layers applied in order (text files only).</summary>
    private static Dictionary<string, string> ExtractFiles(string layout)
    {
        var index = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(layout, "index.json")));
        string Blob(string digest) => Path.Combine(layout, "blobs", "sha256", digest["sha256:".Length..]);
        var manifest = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Blob(index.RootElement.GetProperty("manifests")[0].GetProperty("digest").GetString()!)));
        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var layer in manifest.RootElement.GetProperty("layers").EnumerateArray())
        {
            using var stream = new GZipStream(File.OpenRead(Blob(layer.GetProperty("digest").GetString()!)), CompressionMode.Decompress);
            using var tar = new TarReader(stream);
            while (tar.GetNextEntry() is { } entry)
            {
                var name = entry.Name.TrimEnd('/');
                files[name] = entry.DataStream is { } data && entry.Length < 4096 ? new StreamReader(data).ReadToEnd() : string.Empty;
            }
        }

        return files;
    }
}
