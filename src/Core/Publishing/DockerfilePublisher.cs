using Sdk.Containers.Dockerfiles;
using Sdk.Containers.Targets;
using Sdk.Containers.Images;
using Sdk.Containers.Registry;

namespace Sdk.Containers.Publishing;

/// <summary>What the MSBuild container step needs to build a project's Dockerfile instead of layering the publish folder.</summary>
public sealed record DockerfilePublishRequest
{
    public required string Dockerfile { get; init; }

    /// <summary>The build context: the publish folder.</summary>
    public required string ContextDirectory { get; init; }

    public required string Repository { get; init; }

    public IReadOnlyList<string> Tags { get; init; } = ["latest"];

    public string? Registry { get; init; }

    public string? ArchiveOutputPath { get; init; }

    public string? LocalRegistry { get; init; }

    public string? FallbackArchiveOutputPath { get; init; }

    /// <summary>The inner build of a multi-RID publish: the image goes only into this OCI layout, for the index.</summary>
    public string? OciLayoutOutputPath { get; init; }

    public IReadOnlyDictionary<string, string> BuildArguments { get; init; } = new Dictionary<string, string>();

    public IReadOnlyDictionary<string, Dockerfiles.BuildSecret> Secrets { get; init; } = new Dictionary<string, Dockerfiles.BuildSecret>();

    public IReadOnlyDictionary<string, Dockerfiles.SshAgent> Ssh { get; init; } = new Dictionary<string, Dockerfiles.SshAgent>();

    public string? Target { get; init; }

    public Platform? Platform { get; init; }

    public ImageFormat? Format { get; init; }

    public Layers.LayerCompressionSetting Compression { get; init; } = Layers.LayerCompressionSetting.Default;

    public DateTimeOffset? Created { get; init; }

    public DateTimeOffset LayerTimestamp { get; init; } = Layers.LayerWriterOptions.DefaultTimestamp;

    /// <summary>ContainerCacheFrom with ContainerDockerfile: step caches to take steps from.</summary>
    public IReadOnlyList<Dockerfiles.Caches.CacheSpec> CacheFrom { get; init; } = [];

    /// <summary>ContainerCacheTo: where this build's step cache is written.</summary>
    public IReadOnlyList<Dockerfiles.Caches.CacheSpec> CacheTo { get; init; } = [];

    /// <summary>ContainerSbom, ContainerProvenance, ContainerSbomDirectory (see <see cref="ContainerPublishRequest"/>).</summary>
    public string? Sbom { get; init; }

    public string? Provenance { get; init; }

    public string? AttachmentDirectory { get; init; }

    /// <summary>See <see cref="ContainerPublishRequest.PushedLater"/>.</summary>
    public bool PushedLater { get; init; }

    /// <summary>ContainerAnnotation: annotations of the image manifest (OCI images only).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Annotations { get; init; } = [];
}

/// <summary>
/// The container step for a project with a Dockerfile (ContainerDockerfile): the Dockerfile is built with the publish
/// folder as its context, and the image goes to the same targets as the publish path (<see cref="PublishTargets"/>).
/// </summary>
public sealed class DockerfilePublisher(ImageServices services)
{
    public async Task<ContainerPublishResult> PublishAsync(DockerfilePublishRequest request, CancellationToken cancellationToken)
    {
        if (!File.Exists(request.Dockerfile))
        {
            throw new ContainerException(ErrorCodes.NoDockerfile, $"ContainerDockerfile is '{request.Dockerfile}', which does not exist; give the path of the project's Dockerfile.");
        }

        References.ImageReference.ValidateRepository(request.Repository, "ContainerRepository");
        foreach (var tag in request.Tags)
        {
            References.ImageReference.ValidateTag(tag, "ContainerImageTags");
        }

        var registries = PublishNames.Registries(request.Registry);
        var names = PublishNames.For(registries, request.Repository, request.Tags);
        var log = services.Log;
        var targets = await PublishTargets.ChooseAsync(new PublishDestinations
        {
            Registries = registries,
            ArchivePath = string.IsNullOrWhiteSpace(request.ArchiveOutputPath) ? null : ContainerPublisher.ResolveArchivePath(request.ArchiveOutputPath, request.Repository),
            OciLayoutPath = string.IsNullOrWhiteSpace(request.OciLayoutOutputPath) ? null : request.OciLayoutOutputPath,
            LocalRegistry = request.LocalRegistry,
            FallbackArchivePath = string.IsNullOrWhiteSpace(request.FallbackArchiveOutputPath) ? null : ContainerPublisher.ResolveArchivePath(request.FallbackArchiveOutputPath, request.Repository),
            Timestamp = request.LayerTimestamp,
        }, services.Registries, services.Cache, log, cancellationToken).ConfigureAwait(false);

        var build = new DockerfileBuildRequest
        {
            Annotations = request.Annotations.GroupBy(a => a.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Last().Value, StringComparer.Ordinal),
            ContextDirectory = request.ContextDirectory,
            DockerfilePath = request.Dockerfile,
            BuildArguments = request.BuildArguments,
            Secrets = request.Secrets,
            Ssh = request.Ssh,
            Target = request.Target,
            Platform = request.Platform,
            Format = request.Format,
            Compression = request.Compression,
            Created = request.Created,
            LayerTimestamp = request.LayerTimestamp,
            CacheFrom = request.CacheFrom,
            CacheTo = request.CacheTo,
        };
        var result = await new DockerfileBuilder(services).BuildAsync(build, cancellationToken).ConfigureAwait(false);

        var artifact = ImageArtifact.Of(result.Image);
        var attachments = Supply.AttachmentOptions.Resolve(request.Sbom, request.Provenance, request.AttachmentDirectory, pushes: request.PushedLater || targets.OfType<RegistryTarget>().Any());
        if (attachments.Any)
        {
            var subjectName = names.Count > 0 ? $"{names[0].Registry}/{names[0].Repository}" : request.Repository;
            artifact = artifact.WithReferrers(await DockerfileAttachments.CreateAsync(build, result, attachments, subjectName, "msbuild", services.Store, log, cancellationToken).ConfigureAwait(false));
        }

        var results = await ImageDelivery.SendAsync(artifact, names, targets, log, cancellationToken).ConfigureAwait(false);
        return ContainerPublishResult.From(result.Image, request.Repository, names, results);
    }
}
