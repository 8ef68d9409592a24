using Sdk.Containers.Publishing;

namespace Sdk.Containers.Tests;

public class DefaultBaseImageTests
{
    [Theory]
    [InlineData("v10.0", "10.0.401", "linux-x64", false, false, false, false, false, null, "mcr.microsoft.com/dotnet/runtime:10.0")]
    [InlineData("v10.0", "10.0.401", "linux-x64", false, false, false, false, true, null, "mcr.microsoft.com/dotnet/aspnet:10.0")]
    [InlineData("v10.0", "10.0.401", "linux-x64", true, false, false, false, true, null, "mcr.microsoft.com/dotnet/runtime-deps:10.0")]
    [InlineData("v10.0", "10.0.401", "linux-musl-x64", true, false, false, false, false, null, "mcr.microsoft.com/dotnet/runtime-deps:10.0-alpine")]
    [InlineData("v10.0", "10.0.401", "linux-x64", true, true, false, true, false, null, "mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled")]
    [InlineData("v10.0", "10.0.401", "linux-x64", true, false, true, false, false, null, "mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled-extra")]
    [InlineData("v10.0", "10.0.401", "linux-x64", false, false, false, false, true, "noble-chiseled", "mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled")]
    [InlineData("v11.0", "11.0.100-preview.3.26200.1", "linux-arm64", false, false, false, false, false, null, "mcr.microsoft.com/dotnet/runtime:11.0-preview")]
    public void PicksTheImageTheSdkWould(string tfm, string sdk, string rid, bool selfContained, bool aot, bool trimmed, bool invariant, bool aspnet, string? family, string expected)
        => Assert.Equal(expected, DefaultBaseImage.Compute(tfm, sdk, rid, selfContained, aot, trimmed, invariant, aspnet, family));

    [Fact]
    public void AFamilyThatMakesABadTagNamesContainerFamily()
    {
        var ex = Assert.Throws<ContainerException>(() => DefaultBaseImage.Compute("v10.0", "10.0.401", "linux-x64", false, false, false, false, false, "jammy chiseled!"));
        Assert.Contains("ContainerFamily 'jammy chiseled!'", ex.Message);
        Assert.Equal(ErrorCodes.InvalidTag, ex.Code);
    }
}
