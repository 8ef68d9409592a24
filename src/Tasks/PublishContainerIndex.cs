using Microsoft.Build.Framework;
using Sdk.Containers.Publishing;

namespace Sdk.Containers.Tasks;

/// <summary>Puts the per-RID images under one index and sends it to the sink (see <see cref="ContainerIndexPublisher"/>).</summary>
public sealed class PublishContainerIndex : Microsoft.Build.Utilities.Task, ICancelableTask
{
    private readonly CancellationTokenSource _cancellation = new();

    [Required]
    public ITaskItem[] PlatformLayouts { get; set; } = [];

    [Required]
    public string Repository { get; set; } = string.Empty;

    public ITaskItem[] ImageTags { get; set; } = [];

    public string TagsFromVersion { get; set; } = string.Empty;

    public string Registry { get; set; } = string.Empty;

    public string ArchiveOutputPath { get; set; } = string.Empty;

    public string LocalRegistry { get; set; } = string.Empty;

    public string InsecureRegistries { get; set; } = string.Empty;

    public string SourceDateEpoch { get; set; } = string.Empty;

    public string CacheDirectory { get; set; } = string.Empty;

    /// <summary>ContainerAnnotation items, written on the index as well as on each platform's manifest.</summary>
    public ITaskItem[] Annotations { get; set; } = [];

    [Output]
    public string GeneratedContainerDigest { get; private set; } = string.Empty;

    [Output]
    public string GeneratedContainerManifest { get; private set; } = string.Empty;

    [Output]
    public string GeneratedContainerMediaType { get; private set; } = string.Empty;

    public void Cancel() => _cancellation.Cancel();

    public override bool Execute() => TaskErrors.Run(Log, BuildEngine, () =>
    {
        var repository = References.ImageReference.NormalizeRepository(Repository);
        if (repository != Repository.Trim())
        {
            References.ImageReference.ValidateRepository(Repository.Trim(), "ContainerRepository");
        }

        using var services = ImageServices.Create(string.IsNullOrWhiteSpace(CacheDirectory) ? null : CacheDirectory, new Registry.RegistryOptions
        {
            InsecureRegistries = InsecureRegistries.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
        }, new MSBuildLog(Log));
        var result = new ContainerIndexPublisher(services).PublishAsync(new ContainerIndexRequest
        {
            PlatformLayouts = PlatformLayouts.Select(l => l.ItemSpec).ToArray(),
            Repository = Repository.Trim(),
            Tags = ImageTags.Length > 0 ? ImageTags.Select(t => t.ItemSpec).ToArray()
                : !string.IsNullOrWhiteSpace(TagsFromVersion) ? References.VersionTags.FromVersion(TagsFromVersion) : ["latest"],
            Registry = string.IsNullOrWhiteSpace(Registry) ? null : Registry,
            ArchiveOutputPath = string.IsNullOrWhiteSpace(ArchiveOutputPath) ? null : ArchiveOutputPath,
            LocalRegistry = string.IsNullOrWhiteSpace(LocalRegistry) ? null : LocalRegistry,
            LayerTimestamp = ReproducibleTime.Resolve(null, SourceDateEpoch) ?? Layers.LayerWriterOptions.DefaultTimestamp,
            Annotations = Annotations.Select(a => KeyValuePair.Create(a.ItemSpec, a.GetMetadata("Value"))).ToArray(),
        }, _cancellation.Token).GetAwaiter().GetResult();
        GeneratedContainerDigest = result.IndexDigest.ToString();
        GeneratedContainerManifest = System.Text.Encoding.UTF8.GetString(result.IndexBytes);
        GeneratedContainerMediaType = result.IndexMediaType;
    });
}
