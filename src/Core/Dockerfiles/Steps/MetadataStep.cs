namespace Sdk.Containers.Dockerfiles;

/// <summary>An instruction that changes only the image's config (ENV, ARG, LABEL, USER, CMD, …): no file, no cache.</summary>
internal sealed class MetadataStep(BuildInputs inputs) : IStep
{
    public Task ApplyAsync(StageState stage, DockerfileNode instruction, CancellationToken cancellationToken)
    {
        if (!stage.Config.Apply(instruction))
        {
            throw inputs.Error(instruction, $"{instruction.Value.ToUpperInvariant()} is not supported here.");
        }

        return Task.CompletedTask;
    }
}
