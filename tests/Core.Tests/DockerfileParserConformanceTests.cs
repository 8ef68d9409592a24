using Sdk.Containers.Dockerfiles;

namespace Sdk.Containers.Tests;

/// <summary>BuildKit's own parser test vectors (../shared/conformance/buildkit-dockerfile/parser), used as they are.</summary>
public class DockerfileParserConformanceTests
{
    private static string ParserData => Path.Combine(RepoPaths.Shared, "conformance", "buildkit-dockerfile", "parser");

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var dir in Directory.GetDirectories(Path.Combine(ParserData, "testfiles")).Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(dir));
        }

        return data;
    }

    public static TheoryData<string> NegativeCases()
    {
        var data = new TheoryData<string>();
        foreach (var dir in Directory.GetDirectories(Path.Combine(ParserData, "testfiles-negative")).Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(dir));
        }

        return data;
    }

    [Fact]
    public void AllThirtyThreeCasesAreThere() => Assert.Equal(33, Cases().Count);

    [Theory]
    [MemberData(nameof(Cases))]
    public void EachCaseDumpsToItsResult(string name)
    {
        var dir = Path.Combine(ParserData, "testfiles", name);
        var expected = File.ReadAllText(Path.Combine(dir, "result")).Replace("\r\n", "\n", StringComparison.Ordinal);
        var ast = DockerfileParser.Parse(File.ReadAllText(Path.Combine(dir, "Dockerfile")), $"{name}/Dockerfile");
        Assert.Equal(expected, ast.Dump());
    }

    [Theory]
    [MemberData(nameof(NegativeCases))]
    public void EachNegativeCaseFailsWithASyntaxError(string name)
    {
        var path = Path.Combine(ParserData, "testfiles-negative", name, "Dockerfile");
        var ex = Assert.Throws<DockerfileSyntaxException>(() => DockerfileParser.Parse(File.ReadAllText(path), $"{name}/Dockerfile"));
        Assert.StartsWith($"{name}/Dockerfile", ex.Message);
    }

    [Fact]
    public void LineSpansMatchTheReference()
    {
        var ast = DockerfileParser.Parse(File.ReadAllText(Path.Combine(ParserData, "testfile-line", "Dockerfile")));
        Assert.Equal(5, ast.StartLine);
        Assert.Equal(31, ast.EndLine);
        Assert.Equal((5, 5), (ast.Instructions[0].StartLine, ast.Instructions[0].EndLine));
        Assert.Equal((11, 12), (ast.Instructions[1].StartLine, ast.Instructions[1].EndLine));
        Assert.Equal((17, 31), (ast.Instructions[2].StartLine, ast.Instructions[2].EndLine));
    }
}
