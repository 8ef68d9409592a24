using Microsoft.Build.Framework;
using Sdk.Containers.Publishing;

namespace Sdk.Containers.Tasks;

/// <summary>What the tasks that build one image share: cancellation and the outputs the SDK's targets expose.</summary>
public abstract class ContainerImageTask : Microsoft.Build.Utilities.Task, ICancelableTask
{
    protected CancellationTokenSource Cancellation { get; } = new();

    [Output]
    public string GeneratedContainerDigest { get; private set; } = string.Empty;

    [Output]
    public string GeneratedContainerConfiguration { get; private set; } = string.Empty;

    [Output]
    public string GeneratedContainerManifest { get; private set; } = string.Empty;

    [Output]
    public string GeneratedContainerMediaType { get; private set; } = string.Empty;

    [Output]
    public string GeneratedImageId { get; private set; } = string.Empty;

    [Output]
    public string GeneratedArchiveOutputPath { get; private set; } = string.Empty;

    [Output]
    public ITaskItem[] GeneratedContainerNames { get; private set; } = [];

    public void Cancel() => Cancellation.Cancel();

    protected void SetOutputs(ContainerPublishResult result) => SetOutputs(PublishedImage.From(result));

    protected void SetOutputs(PublishedImage image)
    {
        GeneratedContainerDigest = image.ManifestDigest;
        GeneratedImageId = image.ConfigDigest;
        GeneratedContainerConfiguration = image.ConfigJson;
        GeneratedContainerManifest = image.ManifestJson;
        GeneratedContainerMediaType = image.ManifestMediaType;
        GeneratedArchiveOutputPath = image.ArchivePath ?? string.Empty;
        GeneratedContainerNames = image.RepoTags.Select(t => (ITaskItem)new Microsoft.Build.Utilities.TaskItem(t)).ToArray();
    }

    protected static string? NullIfEmpty(string value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
