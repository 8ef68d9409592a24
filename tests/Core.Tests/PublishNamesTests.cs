using Sdk.Containers.Publishing;

namespace Sdk.Containers.Tests;

public class PublishNamesTests
{
    [Fact]
    public void SeveralRegistriesAreHostsInTheOrderGivenAndEveryTagGoesToEach()
    {
        var registries = PublishNames.Registries(" https://one.example.com/ ; localhost:5000;ONE.example.com;");
        Assert.Equal(["one.example.com", "localhost:5000"], registries);

        var names = PublishNames.For(registries, "team/app", ["1.0", "latest"]);
        Assert.Equal(["one.example.com/team/app:1.0", "one.example.com/team/app:latest", "localhost:5000/team/app:1.0", "localhost:5000/team/app:latest"], names.Select(n => n.ToString()));
    }

    [Fact]
    public void NoRegistryNamesTheRepositoryAloneAndABadOneIsNamed()
    {
        Assert.Empty(PublishNames.Registries("  "));
        Assert.Equal("app:1", PublishNames.For([], "app", ["1"]).Single().FamiliarName);

        var ex = Assert.Throws<ContainerException>(() => PublishNames.Registries("ok.example.com;bad.example.com/path"));
        Assert.Equal(ErrorCodes.InvalidImageReference, ex.Code);
        Assert.Contains("'bad.example.com/path'", ex.Message);
    }
}
