using Sdk.Containers.Building;
using Sdk.Containers.Dockerfiles;
using Sdk.Containers.Images;

namespace Sdk.Containers.Tests;

public class StageConfiguratorTests
{
    private static ImageConfig Configure(string dockerfile, ImageBuilder? baseImage = null, Dictionary<string, string>? buildArgs = null)
    {
        var ast = DockerfileParser.Parse(dockerfile, "app/Dockerfile");
        var amd64 = Platform.FromRuntimeIdentifier("linux-x64");
        var stage = BuildStages.Split(ast, buildArgs ?? [], amd64, amd64, "app/Dockerfile").Last();
        var image = baseImage ?? ImageBuilder.FromScratch(amd64, ImageFormat.Oci);
        var configurator = new StageConfigurator(image, ast.EscapeToken, buildArgs ?? [], new Dictionary<string, string> { ["GLOBAL"] = "from-global" }, "app/Dockerfile");
        foreach (var instruction in stage.Instructions)
        {
            Assert.True(configurator.Apply(instruction), $"{instruction.Value} was not applied");
        }

        return image.Build().Config;
    }

    [Fact]
    public void MetadataInstructionsShapeTheConfigAsDockerDoes()
    {
        var config = Configure("""
            FROM scratch
            ARG GLOBAL
            ARG VERSION=1.0
            ENV APP_HOME=/srv PATH=/usr/bin
            ENV BOTH=$APP_HOME/x FIRST=1 SEE_FIRST=${FIRST:-unset}
            LABEL org.opencontainers.image.version=$VERSION "with space"="a b" from=$GLOBAL
            MAINTAINER someone <someone@example.test>
            EXPOSE 80 53/udp 8000-8002/TCP
            USER app:app
            WORKDIR /srv
            WORKDIR app
            WORKDIR ../data/./x
            SHELL ["/bin/bash", "-o", "pipefail", "-c"]
            CMD echo $APP_HOME
            STOPSIGNAL SIGTERM
            VOLUME ["/data", "/cache"]
            VOLUME /logs
            HEALTHCHECK --interval=1m30s --timeout=500ms --retries=3 CMD curl -f http://localhost/
            ONBUILD COPY . /src
            """, buildArgs: new() { ["VERSION"] = "2.5" });

        var c = config.Config!;
        Assert.Equal(["APP_HOME=/srv", "PATH=/usr/bin", "BOTH=/srv/x", "FIRST=1", "SEE_FIRST=unset"], c.Env!);
        Assert.Equal("2.5", c.Labels!["org.opencontainers.image.version"]);
        Assert.Equal("a b", c.Labels["with space"]);
        Assert.Equal("from-global", c.Labels["from"]);
        Assert.Equal("someone <someone@example.test>", config.Author);
        Assert.Equal(["53/udp", "80/tcp", "8000/tcp", "8001/tcp", "8002/tcp"], c.ExposedPorts!.Order(StringComparer.Ordinal));
        Assert.Equal("app:app", c.User);
        Assert.Equal("/srv/data/x", c.WorkingDir);
        Assert.Equal(["/bin/bash", "-o", "pipefail", "-c", "echo $APP_HOME"], c.Cmd!);
        Assert.Equal("SIGTERM", c.StopSignal);
        Assert.Equal(["/cache", "/data", "/logs"], c.Volumes!.Order(StringComparer.Ordinal));
        Assert.Equal(["CMD-SHELL", "curl -f http://localhost/"], c.Healthcheck!.Test!);
        Assert.Equal(90_000_000_000L, c.Healthcheck.Interval);
        Assert.Equal(500_000_000L, c.Healthcheck.Timeout);
        Assert.Equal(3, c.Healthcheck.Retries);
        Assert.Equal(["COPY . /src"], c.OnBuild!);
        Assert.Equal(18, config.History!.Count);
        Assert.All(config.History, h => Assert.True(h.EmptyLayer));
        Assert.Equal("ENV APP_HOME=/srv PATH=/usr/bin", config.History[2].CreatedBy);
    }

    [Fact]
    public void EntrypointClearsABaseCmdButNotOneTheStageSet()
    {
        var amd64 = Platform.FromRuntimeIdentifier("linux-x64");
        ImageBuilder WithBaseCmd() => ImageBuilder.FromScratch(amd64, ImageFormat.Oci).SetCmd(["base-cmd"]);

        var cleared = Configure("FROM base\nENTRYPOINT [\"/app\"]\n", WithBaseCmd()).Config!;
        Assert.Equal(["/app"], cleared.Entrypoint!);
        Assert.Null(cleared.Cmd);

        var kept = Configure("FROM base\nCMD [\"--flag\"]\nENTRYPOINT /app run\n", WithBaseCmd()).Config!;
        Assert.Equal(["/bin/sh", "-c", "/app run"], kept.Entrypoint!);
        Assert.Equal(["--flag"], kept.Cmd!);

        var none = Configure("FROM base\nHEALTHCHECK NONE\n").Config!;
        Assert.Equal(["NONE"], none.Healthcheck!.Test!);
    }

    public static TheoryData<string, string> Mistakes => new()
    {
        { "FROM scratch\nSHELL /bin/bash -c\n", "app/Dockerfile:2: SHELL takes a JSON array" },
        { "FROM scratch\nEXPOSE http\n", "app/Dockerfile:2: EXPOSE has 'http'" },
        { "FROM scratch\nHEALTHCHECK --interval=often CMD true\n", "app/Dockerfile:2: --interval is 'often'" },
        { "FROM scratch\nHEALTHCHECK --pull CMD true\n", "app/Dockerfile:2: HEALTHCHECK does not take the flag --pull" },
        { "FROM scratch\nWORKDIR\n", "app/Dockerfile:2: WORKDIR takes exactly one argument" },
        { "FROM scratch\nENV X=\"${MISSING:?is required}\"\n", "app/Dockerfile:2: MISSING: is required" },
    };

    [Theory]
    [MemberData(nameof(Mistakes))]
    public void MistakesNameTheLine(string dockerfile, string message)
    {
        var ex = Assert.Throws<DockerfileSyntaxException>(() => Configure(dockerfile));
        Assert.Contains(message, ex.Message);
    }
}
