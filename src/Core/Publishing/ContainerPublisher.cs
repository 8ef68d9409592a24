using Sdk.Containers.Archives;
using Sdk.Containers.Building;
using Sdk.Containers.Digests;
using Sdk.Containers.Dockerfiles;
using Sdk.Containers.Targets;
using Sdk.Containers.Images;
using Sdk.Containers.Layers;
using Sdk.Containers.References;
using Sdk.Containers.Registry;
using Sdk.Containers.Sources;
using Sdk.Containers.Storage;
using Sdk.Containers.Supply;

namespace Sdk.Containers.Publishing;

/// <summary>
/// The publish path: a publish folder becomes a layer atop a base image, with the run settings of a .NET app, and the
/// image goes to its sink. Every host (MSBuild task, CLI) calls this; none of them holds logic of its own.
/// </summary>
public sealed class ContainerPublisher(ImageServices services)
{
    public async Task<ContainerPublishResult> PublishAsync(ContainerPublishRequest request, CancellationToken cancellationToken)
    {
        var repository = ResolveRepository(request);
        var tags = ResolveTags(request);
        var log = services.Log;
        var store = services.Store;
        var cache = services.Cache;
        var platform = Platform.FromRuntimeIdentifier(request.RuntimeIdentifier);
        var workingDirectory = NormalizeWorkingDirectory(request.WorkingDirectory);
        var ports = request.Ports.Select(ParsePort).ToArray();
        ValidateKeys(request.Labels, "ContainerLabel", ErrorCodes.InvalidLabel);
        ValidateKeys(request.EnvironmentVariables, "ContainerEnvironmentVariable", ErrorCodes.InvalidEnvironmentVariable);
        ValidateKeys(request.Annotations, "ContainerAnnotation", ErrorCodes.InvalidAnnotation);
        if (!Directory.Exists(request.PublishDirectory))
        {
            throw new ContainerException(ErrorCodes.PublishDirectoryMissing, $"The publish directory '{request.PublishDirectory}' does not exist; run the Publish target before PublishContainer.");
        }

        var registries = PublishNames.Registries(request.Registry);
        var names = PublishNames.For(registries, repository, tags);
        var targets = await PublishTargets.ChooseAsync(new PublishDestinations
        {
            Registries = registries,
            ArchivePath = string.IsNullOrWhiteSpace(request.ArchiveOutputPath) ? null : ResolveArchivePath(request.ArchiveOutputPath, repository),
            OciLayoutPath = string.IsNullOrWhiteSpace(request.OciLayoutOutputPath) ? null : request.OciLayoutOutputPath,
            LocalRegistry = request.LocalRegistry,
            FallbackArchivePath = string.IsNullOrWhiteSpace(request.FallbackArchiveOutputPath) ? null : ResolveArchivePath(request.FallbackArchiveOutputPath, repository),
            Timestamp = request.LayerTimestamp,
        }, services.Registries, cache, log, cancellationToken).ConfigureAwait(false);
        var source = ImageSource.Parse(request.BaseImage);
        log.Detail($"Reading base image {source}");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var phases = new List<string>();
        void Phase(string name)
        {
            phases.Add($"{name} {clock.Elapsed.TotalSeconds:F2} s");
            clock.Restart();
        }

        var cacheFrom = request.CacheFrom.Select(c => c.Trim()).Where(c => c.Length > 0).Select(c => ImageReference.Parse(c, "ContainerCacheFrom image")).ToArray();
        var offered = OfferedBlobs(request.RegistryReuse, cacheFrom, names, targets, platform);
        var ownership = new LayerOwnership(FileOwner.Parse(request.AppFilesOwner, "ContainerAppFilesOwner") ?? FileOwner.Root, workingDirectory, request.WorkingDirectoryWritable, source.ToString());
        var planned = PublishLayering.Plan(request.PublishDirectory, workingDirectory, request.AssemblyName, request.Layering, request.ExtraLayers);
        var options = new LayerWriterOptions { Timestamp = request.LayerTimestamp, Compression = request.Compression ?? DefaultCompression(targets) };
        var writer = new LayerWriter(store, cache, offered is null ? null : [offered]);

        // Layer bytes do not depend on the base unless an owner is named (or is the base's APP_UID): those layers are
        // written (every core hashing and compressing) while the base is pulled or verified. A failure on either side
        // stops the other before the error goes out.
        var early = planned.Select(layer => ownership.BeforeBase(layer, string.IsNullOrWhiteSpace(request.User) ? null : request.User)).ToArray();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var writing = Task.WhenAll(early.Select(plan => plan is null ? Task.FromResult<Layer?>(null) : Task.Run<Layer?>(async () => await writer.WriteAsync(plan, options, stop.Token).ConfigureAwait(false), stop.Token)));
        LoadedImage baseImage;
        ImageFormat format;
        try
        {
            var loader = new ImageLoader(store, services.Registries, log: log);
            baseImage = await loader.LoadAsync(source, platform, stop.Token).ConfigureAwait(false);
            if (source.Transport != ImageTransport.Registry)
            {
                var verified = loader.ChecksSkipped == baseImage.Image.Layers.Count ? "verified in an earlier build and unchanged since" : "verified";
                log.Info($"Base image {source}: {baseImage.Image.Layers.Count} layers, {verified}, {baseImage.Image.ManifestDigest}");
            }

            format = request.Format ?? baseImage.Image.Format;
            if (options.Compression.Algorithm == LayerCompression.Zstd && format != ImageFormat.Oci)
            {
                throw new ContainerException(ErrorCodes.ZstdNeedsOci, $"ContainerLayerCompression is {options.Compression}, but zstd layers exist only in OCI images and this image is in Docker format (the base's). Set ContainerImageFormat to OCI.");
            }

            if (request.Annotations.Count > 0 && format != ImageFormat.Oci)
            {
                throw new ContainerException(ErrorCodes.AnnotationsNeedOci, $"ContainerAnnotation {string.Join(", ", request.Annotations.Select(a => a.Key))} asks for manifest annotations, but this image is in Docker format (the base {source}'s), whose manifests have none. Set ContainerImageFormat to OCI.");
            }
        }
        catch
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await writing.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).ConfigureAwait(false);
            throw;
        }

        Phase("base image (layers written meanwhile)");

        // The base's directories, links and users are read once per base; a layer whose entries they change (a parent
        // the base has with its own mode or owner, a link in the way, an owner by name) is written (again) to fit.
        var attachments = AttachmentOptions.Resolve(request.Sbom, request.Provenance, request.AttachmentDirectory, pushes: request.PushedLater || targets.OfType<RegistryTarget>().Any());
        var baseTree = Task.Run(() => ReadBaseAsync(baseImage.Image.Layers, attachments.Sbom is not null, store, cancellationToken), cancellationToken);
        var written = await writing.ConfigureAwait(false);
        var tree = await baseTree.ConfigureAwait(false);
        var users = UserDatabase.Parse(tree.Text("etc/passwd"), tree.Text("etc/group"));
        var builder = new ImageBuilder(baseImage.Image, format) { Created = request.Created };
        ApplyRunSettings(builder, request, workingDirectory, ports);
        var plans = planned.Select(layer => ownership.OnBase(layer, tree, users, builder.User)).ToArray();
        var layers = await Task.WhenAll(plans.Select((plan, i) =>
        {
            if (early[i] is { } before && BaseTree.SameEntries(plan, before))
            {
                return Task.FromResult(written[i]!);
            }

            log.Detail(early[i] is null
                ? $"Layer {plan.Description}: written once the base is read (owners come from it)"
                : $"Layer {plan.Description}: directories or links of the base are kept; written again to fit");
            return Task.Run(() => writer.WriteAsync(plan, options, cancellationToken), cancellationToken);
        })).ConfigureAwait(false);

        Phase("layers");
        for (var i = 0; i < plans.Length; i++)
        {
            var files = plans[i].Entries.Count(e => e.Kind != LayerEntryKind.Directory);
            var state = layers[i].Source switch
            {
                LayerSource.BuildCache => " (unchanged since the last build: no file read, nothing hashed or compressed)",
                LayerSource.WrittenAgainSameBytes => " (rebuilt, same content as before)",
                LayerSource.Written => " (new)",
                LayerSource.SameContentStored => " (same content as a layer compressed on this machine before: hashed, not compressed)",
                LayerSource.Offered => layers[i].IsLocal
                    ? $" (reused from {layers[i].OfferedBy}: hashed, downloaded, not compressed)"
                    : $" (reused from {layers[i].OfferedBy}: hashed, not compressed, not uploaded)",
                _ => string.Empty,
            };
            var plain = options.Compression.Algorithm == LayerCompression.None ? " uncompressed" : string.Empty;
            log.Info($"Layer {plans[i].Description}: {files} files, {layers[i].Descriptor.Size:N0} bytes{plain}, {layers[i].Descriptor.Digest}{state}");
            builder.AddLayer(layers[i], $"Sdk.Containers: COPY {plans[i].Description} to {workingDirectory}");
        }

        if (request.GenerateCreatedLabels)
        {
            builder.CreatedLabels.AddRange(["org.opencontainers.image.created", "org.opencontainers.artifact.created"]);
        }

        if (request.GenerateBaseDigestLabel)
        {
            builder.SetLabel("org.opencontainers.image.base.digest", baseImage.Image.ManifestDigest.ToString());
        }

        ApplyAnnotations(builder, request, source, baseImage.Image);

        if (request.Created is null)
        {
            await CreatedTime.StampAsync(builder, DateTimeOffset.UnixEpoch, cache, cancellationToken).ConfigureAwait(false);
        }

        var image = builder.Build();
        var artifact = ImageArtifact.Of(image);
        if (attachments.Any)
        {
            var subjectName = names.Count > 0 ? $"{names[0].Registry}/{names[0].Repository}" : repository;
            artifact = artifact.WithReferrers(await PublishAttachments.CreateAsync(request, attachments, image, subjectName, source, baseImage.Image, plans, layers, store, services.Registries, log, cancellationToken).ConfigureAwait(false));
        }

        var results = await ImageDelivery.SendAsync(artifact, names, targets, log, cancellationToken).ConfigureAwait(false);
        Phase("config and outputs");
        log.Detail($"Time spent: {string.Join(", ", phases)}");
        return ContainerPublishResult.From(image, repository, names, results);
    }

    /// <summary>
    /// The base's directories and links, and — when an SBOM is to be written — its packages, in one pass over its
    /// layers (each kept in the cache by the chain, so a known base is not read at all).
    /// </summary>
    private static async Task<BaseTree> ReadBaseAsync(IReadOnlyList<Layer> layers, bool sbom, BlobStore store, CancellationToken cancellationToken)
    {
        var tree = new BaseTree.Finding();
        await LayerTreeWalk.ReadAsync(layers, store, sbom ? [tree, PublishInventory.BaseScan().Finding] : [tree], cancellationToken).ConfigureAwait(false);
        return tree.Tree;
    }

    /// <summary>
    /// What the registry already holds: the image at the first tag this publish overwrites, and the ContainerCacheFrom
    /// images.
    /// </summary>
    private RegistryLayerBlobs? OfferedBlobs(bool fromTarget, IReadOnlyList<ImageReference> cacheFrom, IReadOnlyList<ImageReference> names, IReadOnlyList<IImageTarget> targets, Platform platform)
    {
        var pushes = targets.OfType<RegistryTarget>().Any();
        var images = (pushes && fromTarget ? names.Take(1) : []).Concat(cacheFrom).Distinct().ToArray();
        if (images.Length == 0)
        {
            return null;
        }

        var registries = names.Select(n => n.Registry).Distinct(StringComparer.OrdinalIgnoreCase).ToArray();
        var pushOnlyTo = targets.All(t => t is RegistryTarget) && registries.Length == 1 ? registries[0] : null;
        return new RegistryLayerBlobs(services.Registries, services.Store, images, platform, pushOnlyTo, services.Log);
    }

    private static void ApplyAnnotations(ImageBuilder builder, ContainerPublishRequest request, ImageSource source, Image baseImage)
    {
        // As buildx: the base is named only when it came from a registry (a path to an archive names nothing others
        // can pull), and named in full so that tools need not know Docker Hub's defaults.
        if (request.BaseImageAnnotations && builder.Format == ImageFormat.Oci)
        {
            if (source.Transport == ImageTransport.Registry && ImageReference.TryParse(source.Location, out var baseName))
            {
                builder.SetAnnotation(ImageAnnotations.BaseName, baseName.WithDigest(null).ToString());
            }

            builder.SetAnnotation(ImageAnnotations.BaseDigest, baseImage.ManifestDigest.ToString());
        }

        foreach (var (name, value) in request.Annotations)
        {
            builder.SetAnnotation(name, value);
        }
    }

    // Plain tar when every output is loaded by an engine (the engine itself, a `docker load` tarball), as `docker save`
    // writes it; gzip as soon as one output is stored or sent on, so all outputs hold the same image.
    private static LayerCompressionSetting DefaultCompression(IReadOnlyList<IImageTarget> targets)
        => targets.All(t => !t.WantsCompressedLayers) ? LayerCompressionSetting.Uncompressed : LayerCompressionSetting.Default;

    internal static string ResolveRepository(ContainerPublishRequest request)
    {
        if (!string.IsNullOrWhiteSpace(request.Repository))
        {
            ImageReference.ValidateRepository(request.Repository.Trim(), "ContainerRepository");
            return request.Repository.Trim();
        }

        return ImageReference.NormalizeRepository(request.AssemblyName);
    }

    private static IReadOnlyList<string> ResolveTags(ContainerPublishRequest request)
    {
        var given = request.Tags.Select(t => t.Trim()).Where(t => t.Length > 0).ToArray();
        var tags = (given.Length == 0 && !string.IsNullOrWhiteSpace(request.TagsFromVersion) ? VersionTags.FromVersion(request.TagsFromVersion) : given)
            .Distinct(StringComparer.Ordinal).ToArray();
        foreach (var tag in tags)
        {
            ImageReference.ValidateTag(tag, "ContainerImageTags");
        }

        return tags.Length == 0 ? ["latest"] : tags;
    }

    private static void ApplyRunSettings(ImageBuilder builder, ContainerPublishRequest request, string workingDirectory, IReadOnlyList<string> ports)
    {
        // The config keeps the directory as the user wrote it (the SDK and Docker do too); paths are joined properly.
        builder.SetWorkingDirectory(request.WorkingDirectory.Trim());
        foreach (var (name, value) in request.EnvironmentVariables)
        {
            builder.SetEnvironmentVariable(name, value);
        }

        foreach (var (name, value) in request.Labels)
        {
            builder.SetLabel(name, value);
        }

        foreach (var port in ports)
        {
            builder.AddExposedPort(port);
        }

        var user = string.IsNullOrWhiteSpace(request.User) ? builder.GetEnvironmentVariable("APP_UID") : request.User.Trim();
        if (!string.IsNullOrEmpty(user))
        {
            builder.SetUser(user);
        }

        var appCommand = request.AppCommand.Count > 0 ? request.AppCommand : DefaultAppCommand(request, workingDirectory);
        var instruction = request.AppCommandInstruction
            ?? (request.Entrypoint.Count > 0 ? AppCommandInstruction.DefaultArgs : AppCommandInstruction.Entrypoint);
        switch (instruction)
        {
            case AppCommandInstruction.Entrypoint:
                builder.SetEntrypoint([.. request.Entrypoint, .. request.EntrypointArgs, .. appCommand, .. request.AppCommandArgs]);
                builder.SetCmd(request.DefaultArgs.Count > 0 ? request.DefaultArgs : null);
                break;
            case AppCommandInstruction.DefaultArgs:
                builder.SetEntrypoint(request.Entrypoint.Count > 0 ? [.. request.Entrypoint, .. request.EntrypointArgs] : null);
                builder.SetCmd([.. appCommand, .. request.AppCommandArgs, .. request.DefaultArgs]);
                break;
            default:
                builder.SetEntrypoint(request.Entrypoint.Count > 0 ? [.. request.Entrypoint, .. request.EntrypointArgs] : null);
                builder.SetCmd(request.DefaultArgs.Count > 0 ? request.DefaultArgs : null);
                break;
        }
    }

    /// <summary>
    /// The apphost for self-contained apps, `dotnet app.dll` otherwise, as absolute paths joined properly (the SDK
    /// concatenates strings, so a working directory without a trailing slash yields "/srv/appMyApp.dll").
    /// </summary>
    internal static IReadOnlyList<string> DefaultAppCommand(ContainerPublishRequest request, string workingDirectory)
    {
        var windows = request.RuntimeIdentifier.StartsWith("win", StringComparison.Ordinal);
        var directory = workingDirectory.TrimEnd('/');
        return request.SelfContained
            ? [$"{directory}/{request.AssemblyName}{(windows ? ".exe" : string.Empty)}"]
            : ["dotnet", $"{directory}/{request.AssemblyName}.dll"];
    }

    internal static string NormalizeWorkingDirectory(string directory)
    {
        var trimmed = directory.Trim();
        if (!trimmed.StartsWith('/'))
        {
            throw new ContainerException(ErrorCodes.InvalidOutput, $"ContainerWorkingDirectory is '{directory}'; it must be an absolute path such as /app.");
        }

        return "/" + LayerPlan.NormalizePath(trimmed);
    }

    internal static string ParsePort(string port)
    {
        var text = port.Trim();
        var slash = text.IndexOf('/');
        var number = slash < 0 ? text : text[..slash];
        var type = slash < 0 ? "tcp" : text[(slash + 1)..].ToLowerInvariant();
        if (!int.TryParse(number, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value) || value is < 1 or > 65535)
        {
            throw new ContainerException(ErrorCodes.InvalidPort, $"ContainerPort '{port}' is not a port number from 1 to 65535.");
        }

        if (type is not ("tcp" or "udp"))
        {
            throw new ContainerException(ErrorCodes.InvalidPort, $"ContainerPort '{port}' has type '{type}'; the type must be tcp or udp.");
        }

        return $"{value}/{type}";
    }

    private static void ValidateKeys(IEnumerable<KeyValuePair<string, string>> pairs, string item, string code)
    {
        foreach (var (name, _) in pairs)
        {
            if (string.IsNullOrWhiteSpace(name) || name.Contains('='))
            {
                throw new ContainerException(code, $"A {item} item has the name '{name}'; names must be non-empty and must not contain '='.");
            }
        }
    }

    internal static string ResolveArchivePath(string archiveOutputPath, string repository)
    {
        var isDirectory = Directory.Exists(archiveOutputPath)
            || archiveOutputPath.EndsWith('/')
            || archiveOutputPath.EndsWith(Path.DirectorySeparatorChar);
        return isDirectory
            ? Path.Combine(archiveOutputPath, repository.Replace('/', '-') + ".tar")
            : archiveOutputPath;
    }
}
