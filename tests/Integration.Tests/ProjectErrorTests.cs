namespace Sdk.Containers.Integration;

/// <summary>Every mistake a user can make in .csproj values is one MSBuild error with a code naming the property.</summary>
[Collection(EnvironmentCollection.Name)]
public sealed class ProjectErrorTests(TestEnvironment env)
{
    public static TheoryData<string, string, string> Mistakes => new()
    {
        { "-p:ContainerRepository=My_App", "CONTAINER2012", "ContainerRepository 'My_App' is not valid" },
        { "-p:ContainerImageTags=bad tag!", "CONTAINER2007", "ContainerImageTags has the tag 'bad tag!'" },
        { "-p:ContainerFamily=jammy chiseled!", "CONTAINER2007", "ContainerFamily 'jammy chiseled!'" },
        { "-p:ContainerImageFormat=Zip", "CONTAINER2016", "ContainerImageFormat is 'Zip'" },
        { "-p:ContainerWorkingDirectory=app", "CONTAINER1015", "ContainerWorkingDirectory is 'app'" },
        { "-p:LocalRegistry=Containerd", "CONTAINER2021", "LocalRegistry is 'Containerd'" },
    };

    [Theory]
    [MemberData(nameof(Mistakes))]
    public void APropertyMistakeIsOneCodedErrorNamingTheProperty(string property, string code, string message)
    {
        env.Require();
        var project = env.CopySample("hello");
        // ContainerFamily only shapes the default base image, so that case leaves ContainerBaseImage unset.
        string[] baseImage = property.Contains("ContainerFamily", StringComparison.Ordinal) ? [] : [$"-p:ContainerBaseImage=oci:{env.BaseLayout}:runtime"];
        var result = env.Publish(project, ["-p:PublishContainer=true", .. baseImage, property]);
        AssertOneError(result, code, message);
    }

    public static TheoryData<string, string, string> ItemMistakes => new()
    {
        { """<ContainerPort Include="abc" />""", "CONTAINER2010", "ContainerPort 'abc'" },
        { """<ContainerPort Include="53" Type="sctp" />""", "CONTAINER2010", "ContainerPort '53/sctp'" },
        { """<ContainerLabel Include="%20" Value="x" />""", "CONTAINER2011", "A ContainerLabel item has the name ' '; names must be non-empty" },
        { """<ContainerEnvironmentVariable Include="A=B" Value="x" />""", "CONTAINER2015", "ContainerEnvironmentVariable item has the name 'A=B'" },
    };

    [Theory]
    [MemberData(nameof(ItemMistakes))]
    public void AnItemMistakeIsOneCodedErrorNamingTheItem(string item, string code, string message)
    {
        env.Require();
        var project = env.CopySample("hello");
        var csproj = Path.Combine(project, "hello.csproj");
        File.WriteAllText(csproj, File.ReadAllText(csproj).Replace("</Project>", $"<ItemGroup>{item}</ItemGroup></Project>", StringComparison.Ordinal));
        var result = env.Publish(project, ["-p:PublishContainer=true", $"-p:ContainerBaseImage=oci:{env.BaseLayout}:runtime"]);
        AssertOneError(result, code, message);
    }

    [Fact]
    public void EnableSdkContainerSupportFalseTurnsTheContainerStepOff()
    {
        env.Require();
        var project = env.CopySample("hello");
        var archive = Path.Combine(project, "out", "hello.tar");
        var result = env.Publish(project, ["-p:PublishContainer=true", "-p:EnableSdkContainerSupport=false", $"-p:ContainerBaseImage=oci:{env.BaseLayout}:runtime", $"-p:ContainerArchiveOutputPath={archive}"]).AssertSuccess();
        Assert.False(File.Exists(archive));
        Assert.DoesNotContain("Base image", result.Output);
    }

    private static void AssertOneError(ProcessResult result, string code, string message)
    {
        Assert.NotEqual(0, result.ExitCode);
        // MSBuild prints each error twice (where it happened and in the summary): count distinct ones.
        var errors = result.Output.Split('\n').Where(l => l.Contains(": error ", StringComparison.Ordinal))
            .Select(l => System.Text.RegularExpressions.Regex.Replace(l.Trim(), @"^\d+>", string.Empty)).Distinct().ToArray();
        Assert.True(errors.Length == 1, $"Expected one error, got {errors.Length}:\n{string.Join('\n', errors)}");
        Assert.Contains($"error {code}: ", errors[0]);
        Assert.Contains(message, errors[0]);
        Assert.DoesNotContain("   at ", result.Output);
        Assert.DoesNotContain("Exception", errors[0]);
    }
}
