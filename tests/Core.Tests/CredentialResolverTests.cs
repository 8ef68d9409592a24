using System.Text;
using Sdk.Containers.Registry;

namespace Sdk.Containers.Tests;

public class CredentialResolverTests
{
    private static CredentialResolver With(TempDirectory home, Dictionary<string, string>? variables = null)
    {
        var env = new Dictionary<string, string>(variables ?? []) { ["HOME"] = home.Path };
        return new CredentialResolver(name => env.GetValueOrDefault(name));
    }

    [Fact]
    public void EnvironmentVariablesComeFirstAndTheSdksNamesWinOverOurs()
    {
        using var home = new TempDirectory();
        var resolver = With(home, new()
        {
            ["DOTNET_CONTAINER_REGISTRY_UNAME"] = "a",
            ["DOTNET_CONTAINER_REGISTRY_PWORD"] = "pa",
            ["SDK_CONTAINER_REGISTRY_UNAME"] = "b",
            ["SDK_CONTAINER_REGISTRY_PWORD"] = "pb",
        });
        var credential = resolver.Resolve("registry.test")!;
        Assert.Equal("a", credential.Username);
        Assert.Contains("DOTNET_CONTAINER_REGISTRY_UNAME", credential.Source);
    }

    [Theory]
    [InlineData("registry.test:5000")]
    [InlineData("https://registry.test:5000")]
    [InlineData("https://registry.test:5000/v2/")]
    public void ConfigJsonAuthsMatchHostsWrittenAnyWay(string key)
    {
        using var home = new TempDirectory();
        var auth = Convert.ToBase64String(Encoding.UTF8.GetBytes("me:secret:with:colons"));
        home.WriteFile(".docker/config.json", "{\"auths\":{\"" + key + "\":{\"auth\":\"" + auth + "\"}}}");
        var credential = With(home).Resolve("registry.test:5000")!;
        Assert.Equal("me", credential.Username);
        Assert.Equal("secret:with:colons", credential.Secret);
        Assert.Null(With(home).Resolve("other.test"));
    }

    [Fact]
    public void DockerHubKeysAreFoundForDockerIo()
    {
        using var home = new TempDirectory();
        home.WriteFile(".docker/config.json", """{"auths":{"https://index.docker.io/v1/":{"identitytoken":"refresh-me"}}}""");
        var credential = With(home).Resolve("docker.io")!;
        Assert.True(credential.IsIdentityToken);
        Assert.Equal("refresh-me", credential.Secret);
    }

    [Fact]
    public void PodmanAuthFileIsRead()
    {
        using var home = new TempDirectory();
        var authFile = home.WriteFile("auth.json", "{\"auths\":{\"quay.test\":{\"auth\":\"" + Convert.ToBase64String("p:q"u8.ToArray()) + "\"}}}");
        var credential = With(home, new() { ["REGISTRY_AUTH_FILE"] = authFile }).Resolve("quay.test")!;
        Assert.Equal("p", credential.Username);
        Assert.Equal(authFile, credential.Source);
    }

    [Fact]
    public void AHelperThatIsNotInstalledIsAClearError()
    {
        using var home = new TempDirectory();
        home.WriteFile(".docker/config.json", """{"credHelpers":{"registry.test":"does-not-exist-anywhere"}}""");
        var ex = Assert.Throws<ContainerException>(() => With(home).Resolve("registry.test"));
        Assert.Contains("docker-credential-does-not-exist-anywhere is not on PATH", ex.Message);
    }

    [Fact]
    public void TheSecretIsNeverInToString()
    {
        var credential = new RegistryCredential("user", "hunter2", "test");
        Assert.DoesNotContain("hunter2", credential.ToString());
    }

    [Fact]
    public void BadConfigJsonNamesTheFile()
    {
        using var home = new TempDirectory();
        var path = home.WriteFile(".docker/config.json", "{ not json");
        var ex = Assert.Throws<ContainerException>(() => With(home).Resolve("registry.test"));
        Assert.Contains(path, ex.Message);
    }

    [Theory]
    [InlineData("realm=\"https://auth.test/token\",service=\"registry.test\",scope=\"repository:a/b:pull,push\"", "https://auth.test/token", "registry.test", "repository:a/b:pull,push")]
    [InlineData("realm=https://auth.test/token, service=reg", "https://auth.test/token", "reg", null)]
    public void ChallengesParseQuotedValuesWithCommas(string parameters, string realm, string service, string? scope)
    {
        var challenge = AuthChallenge.Parse(new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", parameters))!;
        Assert.True(challenge.IsBearer);
        Assert.Equal(realm, challenge.Realm);
        Assert.Equal(service, challenge.Service);
        Assert.Equal(scope, challenge.Scope);
    }
}
