using Sdk.Containers.Dockerfiles;

namespace Sdk.Containers.Tests;

public class DockerfileHeredocTests
{
    [Fact]
    public void RunAndCopyTakeTheirHereDocumentsAndLinesCarryOn()
    {
        var ast = DockerfileParser.Parse("""
            FROM busybox
            RUN <<EOF
            echo "hello $NAME"
            mkdir -p /data
            EOF
            COPY <<-'CONF' <<"MORE" /etc/app/
            	key=value
            	other=$NOT_EXPANDED
            	CONF
            second
            MORE
            CMD ["sh"]
            """);

        Assert.Equal(["from", "run", "copy", "cmd"], ast.Instructions.Select(i => i.Value));
        var run = ast.Instructions[1];
        var heredoc = Assert.Single(run.Heredocs);
        Assert.Equal(new Heredoc("EOF", "echo \"hello $NAME\"\nmkdir -p /data\n", Expand: true, Chomp: false), heredoc);
        Assert.Equal((2, 5), (run.StartLine, run.EndLine));

        var copy = ast.Instructions[2];
        Assert.Equal(2, copy.Heredocs.Count);
        Assert.Equal(new Heredoc("CONF", "key=value\nother=$NOT_EXPANDED\n", Expand: false, Chomp: true), copy.Heredocs[0]);
        Assert.Equal(new Heredoc("MORE", "second\n", Expand: false, Chomp: false), copy.Heredocs[1]);
        Assert.Equal((6, 11), (copy.StartLine, copy.EndLine));
        Assert.Equal((12, 12), (ast.Instructions[3].StartLine, ast.Instructions[3].EndLine));
    }

    [Fact]
    public void MarkersInQuotesOrExecFormAreNotHereDocuments()
    {
        var ast = DockerfileParser.Parse("""
            FROM busybox
            RUN echo "<<EOF"
            RUN ["echo", "<<EOF"]
            ENV X=<<EOF
            """);
        Assert.All(ast.Instructions, i => Assert.Empty(i.Heredocs));
        Assert.Equal(4, ast.Instructions.Count);
    }

    [Fact]
    public void AnUnterminatedHereDocumentNamesTheLinesAndTheFix()
    {
        var ex = Assert.Throws<DockerfileSyntaxException>(() => DockerfileParser.Parse("FROM busybox\nRUN <<EOF\necho hi\n", "app/Dockerfile"));
        Assert.Equal("app/Dockerfile:2:5-3: the here-document <<EOF is not terminated: add a line holding only EOF.", ex.Message);
        Assert.Equal("CONTAINER3001", ex.Code);
    }
}
