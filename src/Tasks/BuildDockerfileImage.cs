using Microsoft.Build.Framework;
using Sdk.Containers.Images;
using Sdk.Containers.Publishing;

namespace Sdk.Containers.Tasks;

/// <summary>
/// The container step when a project sets ContainerDockerfile: translates properties and items into a
/// <see cref="DockerfilePublishRequest"/>; the work is in <see cref="DockerfilePublisher"/>.
/// </summary>
public sealed class BuildDockerfileImage : ContainerImageTask
{
    [Required]
    public string Dockerfile { get; set; } = string.Empty;

    [Required]
    public string ContextDirectory { get; set; } = string.Empty;

    [Required]
    public string Repository { get; set; } = string.Empty;

    public ITaskItem[] ImageTags { get; set; } = [];

    public string Registry { get; set; } = string.Empty;

    public string ArchiveOutputPath { get; set; } = string.Empty;

    public string LocalRegistry { get; set; } = string.Empty;

    public string FallbackArchiveOutputPath { get; set; } = string.Empty;

    public string InsecureRegistries { get; set; } = string.Empty;

    /// <summary>ContainerBuildArg items: the item spec is the name, Value metadata the value.</summary>
    public ITaskItem[] BuildArguments { get; set; } = [];

    /// <summary>ContainerBuildSecret items: the item spec is the id; File or EnvironmentVariable metadata says where
    /// its value is (never the value itself, which would be in every binlog).</summary>
    public ITaskItem[] Secrets { get; set; } = [];

    /// <summary>ContainerBuildSsh items: the item spec is the id; Socket metadata the agent's socket ($SSH_AUTH_SOCK when empty).</summary>
    public ITaskItem[] SshAgents { get; set; } = [];

    public string Target { get; set; } = string.Empty;

    /// <summary>Set by the inner build of a multi-RID publish: the image is written into this OCI layout only.</summary>
    public string OciLayoutOutputPath { get; set; } = string.Empty;

    public string ContainerRuntimeIdentifier { get; set; } = string.Empty;

    public string ImageFormat { get; set; } = string.Empty;

    public string LayerCompression { get; set; } = string.Empty;

    public string ImageCreated { get; set; } = string.Empty;

    public string SourceDateEpoch { get; set; } = string.Empty;

    public string CacheDirectory { get; set; } = string.Empty;

    /// <summary>ContainerCacheFrom: step caches (type=registry,ref=REF, REF, or type=local,src=DIR).</summary>
    public ITaskItem[] CacheFrom { get; set; } = [];

    /// <summary>ContainerCacheTo: where to write the step cache, ;-separated (type=registry,ref=REF[,mode=max] or type=local,dest=DIR).</summary>
    public ITaskItem[] CacheTo { get; set; } = [];

    public string Sbom { get; set; } = string.Empty;

    /// <summary>The per-platform build of a multi-RID push: attach documents as a push would.</summary>
    public bool PushedLater { get; set; }

    public string Provenance { get; set; } = string.Empty;

    public string SbomDirectory { get; set; } = string.Empty;

    /// <summary>ContainerAnnotation items: the key as item spec, Value metadata.</summary>
    public ITaskItem[] Annotations { get; set; } = [];


    public override bool Execute()
    {
        return TaskErrors.Run(Log, BuildEngine, () =>
        {
            var request = new DockerfilePublishRequest
            {
                Dockerfile = Dockerfile,
                ContextDirectory = ContextDirectory,
                Repository = Repository.Trim(),
                Tags = ImageTags.Length == 0 ? ["latest"] : ImageTags.Select(t => t.ItemSpec.Trim()).ToArray(),
                Registry = NullIfEmpty(Registry),
                ArchiveOutputPath = NullIfEmpty(ArchiveOutputPath),
                LocalRegistry = NullIfEmpty(LocalRegistry),
                FallbackArchiveOutputPath = NullIfEmpty(FallbackArchiveOutputPath),
                OciLayoutOutputPath = NullIfEmpty(OciLayoutOutputPath),
                BuildArguments = BuildArguments.ToDictionary(a => a.ItemSpec, a => a.GetMetadata("Value"), StringComparer.Ordinal),
                Secrets = Secrets.Select(ToSecret).ToDictionary(s => s.Id, StringComparer.Ordinal),
                Ssh = SshAgents.Select(a => new Dockerfiles.SshAgent(a.ItemSpec, NullIfEmpty(a.GetMetadata("Socket")))).ToDictionary(a => a.Id, StringComparer.Ordinal),
                Target = NullIfEmpty(Target),
                Platform = string.IsNullOrWhiteSpace(ContainerRuntimeIdentifier) ? null : Platform.FromRuntimeIdentifier(ContainerRuntimeIdentifier),
                Format = ImageFormat.Trim().ToLowerInvariant() switch
                {
                    "" => null,
                    "oci" => Images.ImageFormat.Oci,
                    "docker" => Images.ImageFormat.Docker,
                    _ => throw new ContainerException(ErrorCodes.InvalidImageFormat, $"ContainerImageFormat is '{ImageFormat}'; it must be Docker or OCI."),
                },
                Compression = Layers.LayerCompressionSetting.Parse(LayerCompression),
                CacheFrom = CacheFrom.Select(c => Dockerfiles.Caches.CacheSpec.Parse(c.ItemSpec, "ContainerCacheFrom", export: false)).ToArray(),
                CacheTo = CacheTo.Select(c => Dockerfiles.Caches.CacheSpec.Parse(c.ItemSpec, "ContainerCacheTo", export: true)).ToArray(),
                Sbom = string.IsNullOrWhiteSpace(Sbom) ? null : Sbom,
                PushedLater = PushedLater,
                Provenance = string.IsNullOrWhiteSpace(Provenance) ? null : Provenance,
                AttachmentDirectory = string.IsNullOrWhiteSpace(SbomDirectory) ? null : SbomDirectory,
                Annotations = Annotations.Select(a => KeyValuePair.Create(a.ItemSpec, a.GetMetadata("Value"))).ToArray(),
                Created = ReproducibleTime.Resolve(ImageCreated, SourceDateEpoch),
                LayerTimestamp = ReproducibleTime.Resolve(null, SourceDateEpoch) ?? Layers.LayerWriterOptions.DefaultTimestamp,
            };

            using var services = ImageServices.Create(NullIfEmpty(CacheDirectory), new Registry.RegistryOptions
            {
                InsecureRegistries = InsecureRegistries.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            }, new MSBuildLog(Log));
            var result = new DockerfilePublisher(services).PublishAsync(request, Cancellation.Token).GetAwaiter().GetResult();
            SetOutputs(result);
        });
    }

    private static Dockerfiles.BuildSecret ToSecret(ITaskItem item)
    {
        var file = item.GetMetadata("File");
        var variable = item.GetMetadata("EnvironmentVariable");
        if (file.Length > 0 == variable.Length > 0)
        {
            throw new ContainerException(ErrorCodes.InvalidSecret, $"ContainerBuildSecret '{item.ItemSpec}' needs File (a path) or EnvironmentVariable (a name), one of the two.");
        }

        return new Dockerfiles.BuildSecret(item.ItemSpec, file.Length > 0 ? Path.GetFullPath(file) : null, variable.Length > 0 ? variable : null);
    }

}
