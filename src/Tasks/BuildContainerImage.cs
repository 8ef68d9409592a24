using Microsoft.Build.Framework;
using Sdk.Containers.Images;
using Sdk.Containers.Publishing;

namespace Sdk.Containers.Tasks;

/// <summary>
/// Builds the image of a published app. Only translates MSBuild items and properties into a
/// <see cref="ContainerPublishRequest"/> and the result into outputs; the work is in <see cref="ContainerPublisher"/>.
/// </summary>
public sealed class BuildContainerImage : ContainerImageTask
{
    [Required]
    public string PublishDirectory { get; set; } = string.Empty;

    [Required]
    public string BaseImage { get; set; } = string.Empty;

    [Required]
    public string AssemblyName { get; set; } = string.Empty;

    public string ContainerRuntimeIdentifier { get; set; } = "linux-x64";

    public bool SelfContained { get; set; }

    public string Repository { get; set; } = string.Empty;

    public string Registry { get; set; } = string.Empty;

    public ITaskItem[] ImageTags { get; set; } = [];

    /// <summary>The project version, when ContainerImageTagsFromVersion is true and no tags are set.</summary>
    public string TagsFromVersion { get; set; } = string.Empty;

    public string ArchiveOutputPath { get; set; } = string.Empty;

    public string InsecureRegistries { get; set; } = string.Empty;

    public string LocalRegistry { get; set; } = string.Empty;

    public string OciLayoutOutputPath { get; set; } = string.Empty;

    public string FallbackArchiveOutputPath { get; set; } = string.Empty;

    public string RegistryChunkSize { get; set; } = string.Empty;

    public string ImageFormat { get; set; } = string.Empty;

    public string WorkingDirectory { get; set; } = "/app";

    public string ContainerUser { get; set; } = string.Empty;

    /// <summary>ContainerAppFilesOwner: user[:group] owning the app's files; root when empty.</summary>
    public string AppFilesOwner { get; set; } = string.Empty;

    /// <summary>ContainerWorkingDirectoryWritable: the working directory owned by the user the app runs as.</summary>
    public bool WorkingDirectoryWritable { get; set; }

    public ITaskItem[] AppCommand { get; set; } = [];

    public ITaskItem[] AppCommandArgs { get; set; } = [];

    public ITaskItem[] DefaultArgs { get; set; } = [];

    public ITaskItem[] Entrypoint { get; set; } = [];

    public ITaskItem[] EntrypointArgs { get; set; } = [];

    public string AppCommandInstruction { get; set; } = string.Empty;

    public ITaskItem[] EnvironmentVariables { get; set; } = [];

    public ITaskItem[] Labels { get; set; } = [];

    public ITaskItem[] Ports { get; set; } = [];

    /// <summary>ContainerAnnotation items: the key as item spec, Value metadata.</summary>
    public ITaskItem[] Annotations { get; set; } = [];

    /// <summary>ContainerSbom: spdx, cyclonedx, false (empty: spdx when pushing).</summary>
    public string Sbom { get; set; } = string.Empty;

    /// <summary>The per-platform build of a multi-RID push: attach documents as a push would.</summary>
    public bool PushedLater { get; set; }

    /// <summary>ContainerProvenance: min, max, false (empty: min when pushing).</summary>
    public string Provenance { get; set; } = string.Empty;

    /// <summary>ContainerSbomDirectory: the SBOM and provenance as files there too.</summary>
    public string SbomDirectory { get; set; } = string.Empty;

    public string AppVersion { get; set; } = string.Empty;

    /// <summary>The package id when the project is packable (the SBOM's pkg:nuget purl for the app).</summary>
    public string PackageId { get; set; } = string.Empty;

    public string SourceRepositoryUrl { get; set; } = string.Empty;

    public string SourceRevision { get; set; } = string.Empty;

    /// <summary>ContainerBaseImageAnnotations: false leaves out org.opencontainers.image.base.name/digest.</summary>
    public string BaseImageAnnotations { get; set; } = string.Empty;

    public string ImageCreated { get; set; } = string.Empty;

    public string SourceDateEpoch { get; set; } = string.Empty;

    public string CacheDirectory { get; set; } = string.Empty;

    public string LayerCompression { get; set; } = string.Empty;

    /// <summary>ContainerCacheFrom: images whose layer blobs may be reused.</summary>
    public ITaskItem[] CacheFrom { get; set; } = [];

    /// <summary>ContainerRegistryReuse: false stops a push from reusing the blobs of the image at its first tag.</summary>
    public string RegistryReuse { get; set; } = string.Empty;

    public bool GenerateCreatedLabels { get; set; }

    public bool GenerateBaseDigestLabel { get; set; }

    /// <summary>ByChangeRate (default) or Single.</summary>
    public string Layering { get; set; } = string.Empty;

    /// <summary>ContainerLayer items: the item spec is a file or folder; Destination, Mode and Owner metadata.</summary>
    public ITaskItem[] ExtraLayers { get; set; } = [];


    public override bool Execute()
    {
        return TaskErrors.Run(Log, BuildEngine, () =>
        {
            var created = ReproducibleTime.Resolve(ImageCreated, SourceDateEpoch);
            var request = new ContainerPublishRequest
            {
                PublishDirectory = PublishDirectory,
                BaseImage = BaseImage,
                AssemblyName = AssemblyName,
                RuntimeIdentifier = ContainerRuntimeIdentifier,
                SelfContained = SelfContained,
                Repository = NullIfEmpty(Repository),
                Registry = NullIfEmpty(Registry),
                Tags = ImageTags.Select(t => t.ItemSpec).ToArray(),
                TagsFromVersion = NullIfEmpty(TagsFromVersion),
                ArchiveOutputPath = NullIfEmpty(ArchiveOutputPath),
                LocalRegistry = NullIfEmpty(LocalRegistry),
                OciLayoutOutputPath = NullIfEmpty(OciLayoutOutputPath),
                FallbackArchiveOutputPath = NullIfEmpty(FallbackArchiveOutputPath),
                Format = ParseFormat(ImageFormat),
                WorkingDirectory = string.IsNullOrWhiteSpace(WorkingDirectory) ? "/app" : WorkingDirectory,
                User = NullIfEmpty(ContainerUser),
                AppFilesOwner = NullIfEmpty(AppFilesOwner),
                WorkingDirectoryWritable = WorkingDirectoryWritable,
                AppCommand = Specs(AppCommand),
                AppCommandArgs = Specs(AppCommandArgs),
                DefaultArgs = Specs(DefaultArgs),
                Entrypoint = Specs(Entrypoint),
                EntrypointArgs = Specs(EntrypointArgs),
                AppCommandInstruction = ParseInstruction(AppCommandInstruction),
                EnvironmentVariables = Pairs(EnvironmentVariables),
                Labels = Pairs(Labels),
                Annotations = Pairs(Annotations),
                BaseImageAnnotations = !string.Equals(BaseImageAnnotations.Trim(), "false", StringComparison.OrdinalIgnoreCase),
                Sbom = NullIfEmpty(Sbom),
                PushedLater = PushedLater,
                Provenance = NullIfEmpty(Provenance),
                AttachmentDirectory = NullIfEmpty(SbomDirectory),
                AppVersion = NullIfEmpty(AppVersion),
                PackageId = NullIfEmpty(PackageId),
                SourceRepositoryUrl = NullIfEmpty(SourceRepositoryUrl),
                SourceRevision = NullIfEmpty(SourceRevision),
                Ports = Ports.Select(p => string.IsNullOrEmpty(p.GetMetadata("Type")) ? p.ItemSpec : $"{p.ItemSpec}/{p.GetMetadata("Type")}").ToArray(),
                Created = created,
                LayerTimestamp = ReproducibleTime.Resolve(null, SourceDateEpoch) ?? Layers.LayerWriterOptions.DefaultTimestamp,
                Layering = ParseLayering(Layering),
                Compression = string.IsNullOrWhiteSpace(LayerCompression) ? null : Layers.LayerCompressionSetting.Parse(LayerCompression),
                CacheFrom = CacheFrom.Select(c => c.ItemSpec).ToArray(),
                RegistryReuse = !string.Equals(RegistryReuse.Trim(), "false", StringComparison.OrdinalIgnoreCase),
                GenerateCreatedLabels = GenerateCreatedLabels,
                GenerateBaseDigestLabel = GenerateBaseDigestLabel,
                ExtraLayers = ExtraLayers.Select(ToExtraLayer).ToArray(),
            };

            var registryOptions = new Registry.RegistryOptions
            {
                InsecureRegistries = InsecureRegistries.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                MaxChunkSize = ParseSize(RegistryChunkSize) ?? new Registry.RegistryOptions().MaxChunkSize,
            };
            if (PublishWorker.Find(Log) is { } worker)
            {
                var work = new PublishWorkerRequest(request, NullIfEmpty(CacheDirectory), registryOptions.InsecureRegistries.ToArray(), registryOptions.MaxChunkSize);
                if (worker.TryRun(work, Log, new MSBuildLog(Log), (code, message) => TaskErrors.LogError(Log, BuildEngine, code, message), Cancellation.Token, out var image))
                {
                    if (image is not null)
                    {
                        SetOutputs(image);
                    }

                    return;
                }
            }

            using var services = ImageServices.Create(NullIfEmpty(CacheDirectory), registryOptions, new MSBuildLog(Log));
            var result = new ContainerPublisher(services).PublishAsync(request, Cancellation.Token).GetAwaiter().GetResult();
            SetOutputs(PublishedImage.From(result));
        });
    }

    private static long? ParseSize(string value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        return long.TryParse(value.Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var size) && size >= 1024
            ? size
            : throw new ContainerException(ErrorCodes.InvalidChunkSize, $"ContainerRegistryChunkSize is '{value}'; it must be a number of bytes, at least 1024.");
    }

    private static ContainerLayering ParseLayering(string value) => value.Trim().ToLowerInvariant() switch
    {
        "" or "bychangerate" => ContainerLayering.ByChangeRate,
        "single" => ContainerLayering.Single,
        _ => throw new ContainerException(ErrorCodes.InvalidLayering, $"ContainerLayering is '{value}'; it must be ByChangeRate or Single."),
    };

    private static ExtraLayer ToExtraLayer(ITaskItem item)
    {
        var destination = item.GetMetadata("Destination");
        if (string.IsNullOrWhiteSpace(destination) || !destination.StartsWith('/'))
        {
            throw new ContainerException(ErrorCodes.InvalidContainerLayer, $"The ContainerLayer item '{item.ItemSpec}' needs Destination metadata with an absolute path in the image, such as /etc/myapp/.");
        }

        return new ExtraLayer(item.GetMetadata("FullPath"), destination, NullIfEmpty(item.GetMetadata("Mode")), NullIfEmpty(item.GetMetadata("Owner")));
    }


    private static string[] Specs(ITaskItem[] items) => items.Select(i => i.ItemSpec).ToArray();

    private static KeyValuePair<string, string>[] Pairs(ITaskItem[] items)
        => items.Select(i => KeyValuePair.Create(i.ItemSpec, i.GetMetadata("Value"))).ToArray();

    private static ImageFormat? ParseFormat(string value) => value.Trim().ToLowerInvariant() switch
    {
        "" => null,
        "docker" => Images.ImageFormat.Docker,
        "oci" => Images.ImageFormat.Oci,
        _ => throw new ContainerException(ErrorCodes.InvalidImageFormat, $"ContainerImageFormat is '{value}'; it must be Docker or OCI."),
    };

    private static AppCommandInstruction? ParseInstruction(string value) => value.Trim().ToLowerInvariant() switch
    {
        "" => null,
        "entrypoint" => Publishing.AppCommandInstruction.Entrypoint,
        "defaultargs" => Publishing.AppCommandInstruction.DefaultArgs,
        "none" => Publishing.AppCommandInstruction.None,
        _ => throw new ContainerException(ErrorCodes.InvalidAppCommandInstruction, $"ContainerAppCommandInstruction is '{value}'; it must be Entrypoint, DefaultArgs or None."),
    };
}
