using Sdk.Containers.Dockerfiles;

namespace Sdk.Containers.Tests;

/// <summary>BuildKit's shell-expansion vectors (../shared/conformance/buildkit-dockerfile/shell), used as they are.</summary>
public class ShellLexerConformanceTests
{
    private static string ShellData => Path.Combine(RepoPaths.Shared, "conformance", "buildkit-dockerfile", "shell");

    public static TheoryData<int, string, string> EnvVarCases()
    {
        var data = new TheoryData<int, string, string>();
        var number = 0;
        foreach (var raw in File.ReadLines(Path.Combine(ShellData, "envVarTest")))
        {
            number++;
            var line = raw.Trim();
            if (raw.StartsWith('#') || line.Length == 0)
            {
                continue;
            }

            var fields = line.Split('|');
            Assert.Equal(3, fields.Length);
            if (fields[0].Trim() is "A" or "U")
            {
                data.Add(number, fields[1].Trim(), fields[2].Trim());
            }
        }

        return data;
    }

    private static readonly Dictionary<string, string> EnvVarEnvironment = new()
    {
        ["PWD"] = "/home",
        ["SHELL"] = "bash",
        ["KOREAN"] = "한국어",
        ["NULL"] = string.Empty,
    };

    [Theory]
    [MemberData(nameof(EnvVarCases))]
    public void EnvVarTestLine(int line, string input, string expected)
    {
        var lexer = new ShellLexer('\\');
        if (expected == "error")
        {
            Assert.Throws<ShellExpansionException>(() => lexer.ProcessWord(input, EnvVarEnvironment));
        }
        else
        {
            Assert.True(expected == lexer.ProcessWord(input, EnvVarEnvironment), $"envVarTest line {line}: {input} gave '{lexer.ProcessWord(input, EnvVarEnvironment)}', not '{expected}'");
        }
    }

    [Fact]
    public void EveryLineOfWordsTestSplitsAsExpected()
    {
        var lexer = new ShellLexer('\\');
        var environment = new Dictionary<string, string>();
        var number = 0;
        var failures = new List<string>();
        var cases = 0;
        foreach (var line in File.ReadLines(Path.Combine(ShellData, "wordsTest")))
        {
            number++;
            if (line.StartsWith('#'))
            {
                continue;
            }

            if (line.StartsWith("ENV ", StringComparison.Ordinal))
            {
                var assignment = line[3..].TrimStart(' ');
                var equals = assignment.IndexOf('=');
                environment[assignment[..equals]] = assignment[(equals + 1)..];
                continue;
            }

            var fields = line.Split('|');
            Assert.True(fields.Length == 2, $"wordsTest line {number} should have exactly one |");
            var input = fields[0].Trim();
            var expected = fields[1].TrimStart(' ').Split(',');
            string[] actual;
            try
            {
                actual = [.. lexer.ProcessWords(input, environment)];
            }
            catch (ShellExpansionException)
            {
                actual = ["error"];
            }

            cases++;
            if (!actual.SequenceEqual(expected))
            {
                failures.Add($"line {number}: {input} -> [{string.Join(",", actual)}], expected [{string.Join(",", expected)}]");
            }
        }

        Assert.True(cases > 20, "wordsTest was not read");
        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }
}
