using Sdk.Containers.Dockerfiles;
using Sdk.Containers.Images;

namespace Sdk.Containers.Tests;

public class BuildStagesTests
{
    private static readonly Platform Amd64 = Platform.FromRuntimeIdentifier("linux-x64");
    private static readonly Platform Arm64 = Platform.FromRuntimeIdentifier("linux-arm64");

    private static IReadOnlyList<BuildStage> Split(string dockerfile, Dictionary<string, string>? buildArgs = null, Platform? target = null)
        => BuildStages.Split(DockerfileParser.Parse(dockerfile, "app/Dockerfile"), buildArgs ?? [], target ?? Amd64, Amd64, "app/Dockerfile");

    [Fact]
    public void GlobalArgumentsAndBuildArgumentsShapeFromLinesAndStagesCanBeBases()
    {
        var stages = Split("""
            ARG VERSION=10.0
            ARG REGISTRY
            FROM ${REGISTRY:-mcr.example}/dotnet/sdk:${VERSION} AS Build
            RUN echo building
            FROM --platform=$TARGETPLATFORM base-$TARGETARCH
            FROM build AS final
            COPY --from=build /out /app
            """, new() { ["VERSION"] = "9.0" }, Arm64);

        Assert.Equal(3, stages.Count);
        Assert.Equal("mcr.example/dotnet/sdk:9.0", stages[0].Base);
        Assert.Equal("build", stages[0].Name);
        Assert.Single(stages[0].Instructions);
        Assert.Equal("linux/arm64/v8", stages[1].Platform);
        Assert.Equal("base-arm64", stages[1].Base);
        Assert.Null(stages[1].Name);
        Assert.Equal(0, stages[2].BaseStage);
        Assert.Equal((6, 6), (stages[2].From.StartLine, stages[2].From.EndLine));
    }

    public static TheoryData<string, string> Mistakes => new()
    {
        { "FROM alpine\nRUNN echo hi\n", "app/Dockerfile:2:1: unknown instruction 'RUNN'." },
        { "RUN echo hi\nFROM alpine\n", "app/Dockerfile:1: RUN comes before any FROM; only ARG may" },
        { "FROM ${BASE}\n", "app/Dockerfile:1:6: the base name (${BASE}) is blank after expansion" },
        { "FROM alpine AS a\nFROM alpine AS A\n", "app/Dockerfile:2: the stage name 'a' is already used" },
        { "FROM alpine AS 1st\n", "app/Dockerfile:1: '1st' is not a valid stage name" },
        { "FROM alpine TO x\n", "app/Dockerfile:1: FROM takes an image and optionally AS and a stage name" },
        { "FROM --pull alpine\n", "app/Dockerfile:1: FROM does not take the flag '--pull'" },
        { "ARG X=\"${Y:?must be set}\"\nFROM alpine\n", "app/Dockerfile:1: Y: must be set" },
        { "ARG X\n", "there is no FROM" },
    };

    [Theory]
    [MemberData(nameof(Mistakes))]
    public void StructuralMistakesNameTheFileAndLine(string dockerfile, string message)
    {
        var ex = Assert.Throws<DockerfileSyntaxException>(() => Split(dockerfile));
        Assert.Contains(message, ex.Message);
        Assert.Equal("CONTAINER3001", ex.Code);
    }
}
