using FsCheck;
using FsCheck.Fluent;
using Sdk.Containers.Dockerfiles;

namespace Sdk.Containers.Tests;

/// <summary>
/// Property-based fuzzing of the Dockerfile parser and the shell lexer: any input either parses or fails with our own
/// exception type, never anything else. (No case is timed: a pathological input would hang the run, not flake it.)
/// The budget is fixed for CI; SDK_CONTAINERS_FUZZ_CASES raises it for longer runs.
/// </summary>
public class DockerfileFuzzTests
{
    private static readonly int Cases = int.TryParse(Environment.GetEnvironmentVariable("SDK_CONTAINERS_FUZZ_CASES"), out var n) ? n : 50_000;

    private static readonly string[] Fragments =
    [
        "FROM ", "RUN ", "COPY ", "ADD ", "ENV ", "ARG ", "LABEL ", "CMD ", "ENTRYPOINT ", "HEALTHCHECK ", "ONBUILD ", "SHELL ",
        "WORKDIR ", "USER ", "EXPOSE ", "VOLUME ", "STOPSIGNAL ", "MAINTAINER ", "# escape=`\n", "# syntax=x\n", "#", "\n", "\\\n",
        "`\n", "\\", "`", "\"", "'", "[", "]", ",", "=", " ", "\t", "--from=", "--chown=a:b ", "-- ", "$", "${", "}", ":-", ":+",
        ":?", "#", "##", "%", "%%", "/", "//", "*", "?", "a", "b1", "name", "value", "\"x y\"", "'z'", "[\"a\", \"b\"]", "<<EOF\n",
        "EOF\n", "\r\n", "한국어", "\u0000", "\uFEFF",
    ];

    private static Gen<string> DockerfileText()
        => Gen.Elements(Fragments).ListOf().Select(parts => string.Concat(parts));

    [Fact]
    public void TheParserEitherParsesOrFailsWithASyntaxError()
    {
        var property = Prop.ForAll(DockerfileText().ToArbitrary(), text =>
        {
            try
            {
                var ast = DockerfileParser.Parse(text, "fuzz/Dockerfile");
                Assert.NotEmpty(ast.Instructions);
                _ = ast.Dump();
            }
            catch (DockerfileSyntaxException ex)
            {
                Assert.StartsWith("fuzz/Dockerfile", ex.Message);
            }
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(Cases).WithQuietOnSuccess(true), property);
    }

    [Fact]
    public void TheLexerEitherExpandsOrFailsWithAnExpansionError()
    {
        var environment = new Dictionary<string, string> { ["a"] = "x y", ["name"] = "*v*", ["NULL"] = string.Empty };
        var property = Prop.ForAll(DockerfileText().ToArbitrary(), text =>
        {
            foreach (var escape in new[] { '\\', '`' })
            {
                try
                {
                    var lexer = new ShellLexer(escape);
                    _ = lexer.ProcessWord(text, environment);
                    _ = lexer.ProcessWords(text, environment);
                }
                catch (ShellExpansionException)
                {
                }
            }
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(Cases).WithQuietOnSuccess(true), property);
    }
}

/// <summary>Inputs the fuzzers found, kept so they stay fixed.</summary>
public class DockerfileFuzzRegressionTests
{
    [Theory]
    [InlineData("${a#[}//COPY ,]``")]
    [InlineData("${a%[}")]
    [InlineData("${a/[/x}")]
    [InlineData("${a#[z-a]}")]
    public void PatternsThatOnceCrashedExpandOrFailCleanly(string input)
    {
        var environment = new Dictionary<string, string> { ["a"] = "x y" };
        try
        {
            _ = new ShellLexer().ProcessWord(input, environment);
        }
        catch (ShellExpansionException)
        {
        }
    }
}
