using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Sdk.Containers.Integration;

/// <summary>`dotnet publish` with a registry base image and ContainerRegistry, against real registries.</summary>
[Collection(EnvironmentCollection.Name)]
public sealed partial class RegistryPublishTests(TestEnvironment env, RegistryFixture registry) : IClassFixture<RegistryFixture>
{
    [GeneratedRegex(@"Pushed (?<name>\S+) \((?<digest>sha256:[0-9a-f]{64})\)")]
    private static partial Regex PushedLine();

    private static string PushedDigest(ProcessResult result)
    {
        var match = PushedLine().Match(result.Output);
        Assert.True(match.Success, $"No 'Pushed' line in:\n{result.Output}");
        return match.Groups["digest"].Value;
    }

    private static JsonDocument SkopeoInspect(string reference, params string[] flags)
        => JsonDocument.Parse(TestEnvironment.Run("/usr/bin/skopeo", ["inspect", "--tls-verify=false", .. flags, $"docker://{reference}"]).AssertSuccess().StandardOutput);

    [Fact]
    public void PublishPushesToTheRegistryAndDockerPullsAndRunsIt()
    {
        env.Require();
        var host = registry.Server.Host;
        var project = env.CopySample("hello");
        var tag = $"e2e-{Guid.NewGuid():N}"[..16];
        var result = env.Publish(project, [
            "-p:PublishContainer=true",
            $"-p:ContainerBaseImage={host}/dotnet/runtime:10.0",
            $"-p:ContainerRegistry={host}",
            $"-p:ContainerImageTags={tag}",
        ]).AssertSuccess();
        var digest = PushedDigest(result);

        using (var inspect = SkopeoInspect($"{host}/hello:{tag}"))
        {
            Assert.Equal(digest, inspect.RootElement.GetProperty("Digest").GetString());
            Assert.Equal(3, inspect.RootElement.GetProperty("Layers").GetArrayLength());
        }

        var image = $"{host}/hello:{tag}";
        env.Docker("pull", image).AssertSuccess();
        try
        {
            var run = env.Docker("run", "--rm", "--network", "none", image).AssertSuccess();
            Assert.Contains("Hello from Sdk.Containers!", run.Output);
            var repoDigests = env.Docker("image", "inspect", image, "--format", "{{json .RepoDigests}}").AssertSuccess();
            Assert.Contains(digest, repoDigests.Output);
        }
        finally
        {
            env.Docker("rmi", "-f", image);
        }
    }

    [Fact]
    public async Task ASecondPublishWithAWarmCacheFetchesNoBaseBlob()
    {
        env.Require();
        await using var proxy = new FaultProxy(registry.Server.Host);
        var project = env.CopySample("hello");
        using var cache = new TempDirectory();
        string[] args = [
            "-p:PublishContainer=true",
            $"-p:ContainerBaseImage={proxy.Host}/dotnet/runtime:10.0",
            $"-p:ContainerRegistry={proxy.Host}",
            "-p:ContainerRepository=warm/hello",
            $"-p:ContainerCacheDirectory={cache.Path}",
        ];
        env.Publish(project, args).AssertSuccess();
        Assert.True(proxy.Count("GET", "/blobs/sha256:") >= 3, "the first publish downloads the base config and layers");

        proxy.Reset();
        var second = env.Publish(project, args).AssertSuccess();
        Assert.Equal(0, proxy.Count("GET", "/blobs/"));
        Assert.Contains("all from the local cache", second.Output);
    }

    [Fact]
    public void AFreshRunnerReusesWhatTheTagHoldsAndContainerCacheFromFeedsAnArchive()
    {
        env.Require();
        var host = registry.Server.Host;
        var project = env.CopySample("hello");
        var tag = $"ci-{Guid.NewGuid():N}"[..16];
        using var caches = new TempDirectory();
        string[] Args(string cache, params string[] more) => [
            "-p:PublishContainer=true",
            $"-p:ContainerBaseImage={host}/dotnet/runtime:10.0",
            "-p:ContainerRepository=fresh/hello",
            $"-p:ContainerImageTags={tag}",
            $"-p:ContainerCacheDirectory={caches.Combine(cache)}",

            // A fresh runner has no record of the last created time: CI pins it (SOURCE_DATE_EPOCH) to get one image.
            "-p:ContainerImageCreated=2026-01-01T00:00:00Z",
            .. more,
        ];

        var first = env.Publish(project, Args("a", $"-p:ContainerRegistry={host}")).AssertSuccess();
        var digest = PushedDigest(first);

        // Each publish below starts with an empty cache, as a fresh CI runner does.
        var fresh = env.Publish(project, Args("b", $"-p:ContainerRegistry={host}")).AssertSuccess();
        Assert.Contains($"(reused from {host}/fresh/hello:{tag}: hashed, not compressed, not uploaded)", fresh.Output);
        Assert.Equal(digest, PushedDigest(fresh));

        var off = env.Publish(project, Args("c", $"-p:ContainerRegistry={host}", "-p:ContainerRegistryReuse=false")).AssertSuccess();
        Assert.DoesNotContain("reused from", off.Output);
        Assert.Equal(digest, PushedDigest(off));

        // A tarball for `docker load` holds plain tar layers, so a cache has nothing to save it; asked for gzip, it
        // takes the cache's blobs and is the pushed image.
        var archive = caches.Combine("hello.tar");
        var cacheFrom = $"-p:ContainerCacheFrom=\"{host}/fresh/none:1;{host}/fresh/hello:{tag}\"";
        var plain = env.Publish(project, Args("d", $"-p:ContainerArchiveOutputPath={archive}", cacheFrom)).AssertSuccess();
        Assert.DoesNotContain("reused from", plain.Output);
        Assert.Matches(@"Layer hello app files: \d+ files, [\d,]+ bytes uncompressed, sha256:", plain.Output);
        var archived = env.Publish(project, Args("e", $"-p:ContainerArchiveOutputPath={archive}", cacheFrom, "-p:ContainerLayerCompression=gzip")).AssertSuccess();
        Assert.Contains($"(reused from {host}/fresh/hello:{tag}: hashed, downloaded, not compressed)", archived.Output);
        using var inspect = JsonDocument.Parse(TestEnvironment.Run("/usr/bin/skopeo", ["inspect", $"docker-archive:{archive}"]).AssertSuccess().StandardOutput);
        Assert.Equal(3, inspect.RootElement.GetProperty("Layers").GetArrayLength());
        Assert.Contains($", digest {digest})", archived.Output);
    }

    public static TheoryData<RegistryAuth, string> AuthCases => new()
    {
        { RegistryAuth.BasicOverTls, "config.json" },
        { RegistryAuth.BasicOverTls, "helper" },
        { RegistryAuth.BasicOverTls, "environment" },
        { RegistryAuth.Token, "config.json" },
        { RegistryAuth.Token, "helper" },
        { RegistryAuth.Token, "environment" },
        { RegistryAuth.BasicOverTls, "dotnet-environment" },
    };

    [Theory]
    [MemberData(nameof(AuthCases))]
    public async Task PublishAuthenticatesWithEachCredentialSourceAndNeverShowsThePassword(RegistryAuth auth, string source)
    {
        env.Require();
        using var work = new TempDirectory();
        await using var issuer = auth == RegistryAuth.Token ? new TokenIssuer(work.Combine("issuer")) : null;
        using var server = new RegistryServer(auth, issuer);
        server.Seed($"oci:{env.BaseLayout}:runtime", "dotnet/runtime:10.0");

        var binlog = work.Combine("publish.binlog");
        var project = env.CopySample("hello");
        var result = PublishWithBinlog(server, binlog, CredentialEnvironment(work, server, source, RegistryServer.Password), project).AssertSuccess();

        // Nor in any file the build wrote: the project's bin, obj and publish folders, and the blob store and its records;
        // nor in anything it pushed — the SBOM and provenance attached to the image among them.
        Secrets.AssertAbsentFromFiles(RegistryServer.Password, project, env.Cache, server.StorageRoot);
        Assert.True(Directory.EnumerateDirectories(server.StorageRoot, "sha256-*", SearchOption.AllDirectories).Any(), "the push attached no documents (no referrers tag in the registry's storage)");

        using (var inspect = SkopeoInspect($"{server.Host}/hello:latest", $"--creds={RegistryServer.User}:{RegistryServer.Password}"))
        {
            Assert.Equal(PushedDigest(result), inspect.RootElement.GetProperty("Digest").GetString());
        }

        if (source == "dotnet-environment")
        {
            // MSBuild itself writes DOTNET_* variables into binlogs; we cannot stop that, so we say so.
            Assert.Contains("warning CONTAINER1025", result.Output);
            Secrets.AssertAbsent(RegistryServer.Password, result.Output, binlog: null);
        }
        else
        {
            Secrets.AssertAbsent(RegistryServer.Password, result.Output, binlog);
            Assert.DoesNotContain("CONTAINER1025", result.Output);
        }

        if (issuer is not null)
        {
            Assert.True(issuer.Requests > 0, "the token service was never asked");
        }
    }

    [Theory]
    [InlineData(RegistryAuth.BasicOverTls)]
    [InlineData(RegistryAuth.Token)]
    public async Task AWrongPasswordFailsNamingTheRegistryAndShowsNoSecret(RegistryAuth auth)
    {
        env.Require();
        using var work = new TempDirectory();
        await using var issuer = auth == RegistryAuth.Token ? new TokenIssuer(work.Combine("issuer")) : null;
        using var server = new RegistryServer(auth, issuer);
        server.Seed($"oci:{env.BaseLayout}:runtime", "dotnet/runtime:10.0");
        const string wrong = "Wr0ng-Pa55word-must-not-leak";

        var binlog = work.Combine("publish.binlog");
        var result = PublishWithBinlog(server, binlog, CredentialEnvironment(work, server, "environment", wrong));

        Assert.NotEqual(0, result.ExitCode);
        var error = result.Output.Split('\n').FirstOrDefault(l => l.Contains("error CONTAINER1021", StringComparison.Ordinal));
        Assert.True(error is not null, $"No CONTAINER1021 error in:\n{result.Output}");
        Assert.Contains($"The registry {server.Host} refused the credentials from the environment variables SDK_CONTAINER_REGISTRY_UNAME and SDK_CONTAINER_REGISTRY_PWORD", error);
        Assert.DoesNotContain("   at ", result.Output);
        Secrets.AssertAbsent(wrong, result.Output, binlog);
    }

    /// <summary>samples/hello, based on and pushed to <paramref name="server"/>, with a binlog.</summary>
    private ProcessResult PublishWithBinlog(RegistryServer server, string binlog, Dictionary<string, string> environment, string? project = null)
        => env.Publish(project ?? env.CopySample("hello"), [
            "-p:PublishContainer=true",
            $"-p:ContainerBaseImage={server.Host}/dotnet/runtime:10.0",
            $"-p:ContainerRegistry={server.Host}",
            $"-bl:{binlog}",
        ], environment);

    private static Dictionary<string, string> CredentialEnvironment(TempDirectory work, RegistryServer server, string source, string password)
    {
        var dockerConfig = work.Combine("docker-config");
        Directory.CreateDirectory(dockerConfig);
        var environment = new Dictionary<string, string> { ["DOCKER_CONFIG"] = dockerConfig };
        if (server.Certificates is { } certificates)
        {
            environment["SSL_CERT_FILE"] = certificates.CaFile;
        }

        switch (source)
        {
            case "config.json":
                var auth = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{RegistryServer.User}:{password}"));
                File.WriteAllText(Path.Combine(dockerConfig, "config.json"), "{\"auths\":{\"" + server.Host + "\":{\"auth\":\"" + auth + "\"}}}");
                break;
            case "helper":
                var bin = work.Combine("bin");
                Directory.CreateDirectory(bin);
                var helper = Path.Combine(bin, "docker-credential-test");
                File.WriteAllText(helper, $$"""
                    #!/bin/sh
                    read server
                    [ "$1" = get ] || exit 1
                    printf '{"ServerURL":"%s","Username":"{{RegistryServer.User}}","Secret":"{{password}}"}' "$server"
                    """.Replace("\r", string.Empty));
                File.SetUnixFileMode(helper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                File.WriteAllText(Path.Combine(dockerConfig, "config.json"), "{\"credHelpers\":{\"" + server.Host + "\":\"test\"}}");
                environment["PATH"] = bin + ":" + Environment.GetEnvironmentVariable("PATH");
                break;
            case "dotnet-environment":
                environment["DOTNET_CONTAINER_REGISTRY_UNAME"] = RegistryServer.User;
                environment["DOTNET_CONTAINER_REGISTRY_PWORD"] = password;
                break;
            default:
                environment["SDK_CONTAINER_REGISTRY_UNAME"] = RegistryServer.User;
                environment["SDK_CONTAINER_REGISTRY_PWORD"] = password;
                break;
        }

        return environment;
    }
}
