using Sdk.Containers.Images;
using Sdk.Containers.Layers;
using Sdk.Containers.References;
using Sdk.Containers.Sources;
using Sdk.Containers.Storage;
using Sdk.Containers.Supply;

namespace Sdk.Containers.Publishing;

/// <summary>
/// The documents the publish path attaches to its image: the SBOM of what the publish folder and the base hold, and
/// the provenance of how the image was made, from the request alone (the request holds no credential).
/// </summary>
internal static class PublishAttachments
{
    public static async Task<IReadOnlyList<Referrer>> CreateAsync(
        ContainerPublishRequest request,
        AttachmentOptions options,
        Image image,
        string subjectName,
        ImageSource baseSource,
        Image baseImage,
        IReadOnlyList<LayerPlan> plans,
        IReadOnlyList<Layer> layers,
        BlobStore store,
        Registry.RegistrySession registries,
        IBuildLog log,
        CancellationToken cancellationToken)
    {
        var created = CreatedOf(image);
        var documents = new List<(string Kind, string MediaType, byte[] Bytes)>();
        var depsFile = Path.Combine(request.PublishDirectory, request.AssemblyName + ".deps.json");
        if (options.Sbom is not null && !options.SbomAsked && !File.Exists(depsFile))
        {
            // A default SBOM without the app's packages would say less than it seems to: none rather than a thin one.
            log.Info($"No SBOM attached: the publish folder has no {request.AssemblyName}.deps.json to list the app's packages (set ContainerSbom to require one)");
        }
        else if (options.Sbom is { } format)
        {
            var inventory = (await PublishInventory.ReadAsync(request.PublishDirectory, request.AssemblyName, request.AppVersion, request.PackageId, baseSource.ToString(), baseImage, store, cancellationToken).ConfigureAwait(false))
                .WithBaseImageSbom(await BaseImageSbom.FindAsync(baseSource, baseImage, registries, log, cancellationToken).ConfigureAwait(false));
            foreach (var warning in inventory.Warnings)
            {
                log.Info($"SBOM: {warning}");
            }

            var subject = new SbomSubject(subjectName, image.ManifestDigest, image.Config.Platform, created);
            documents.Add((format == SbomFormat.Spdx ? "spdx.json" : "cdx.json", SbomDocument.MediaType(format), SbomDocument.Write(format, inventory, subject)));
        }

        if (options.Provenance is { } mode)
        {
            var inputs = ProvenanceOf(request, image, baseSource, baseImage, plans, layers);
            documents.Add(("provenance.json", ProvenanceStatement.MediaType, Provenance.Write(inputs, mode, subjectName, image.ManifestDigest, created)));
        }

        if (options.Directory is { } directory)
        {
            await AttachmentFiles.WriteAsync(directory, ContainerPublisher.ResolveRepository(request), image.Config.Platform, documents.Select(d => (d.Kind, d.Bytes)), log, cancellationToken).ConfigureAwait(false);
        }

        return documents.Select(d => Referrer.Create(image, d.MediaType, d.Bytes, created)).ToArray();
    }

    private static ProvenanceInputs ProvenanceOf(ContainerPublishRequest request, Image image, ImageSource baseSource, Image baseImage, IReadOnlyList<LayerPlan> plans, IReadOnlyList<Layer> layers)
    {
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["ContainerBaseImage"] = baseSource.ToString(),
            ["ContainerRuntimeIdentifier"] = request.RuntimeIdentifier,
            ["ContainerWorkingDirectory"] = request.WorkingDirectory,
            ["ContainerImageFormat"] = image.Format.ToString(),
            ["ContainerLayering"] = request.Layering.ToString(),
            ["SelfContained"] = request.SelfContained ? "true" : "false",
        };
        AddIfSet(parameters, "ContainerRepository", ContainerPublisher.ResolveRepository(request));
        AddIfSet(parameters, "ContainerRegistry", request.Registry);
        AddIfSet(parameters, "ContainerUser", request.User);
        AddIfSet(parameters, "ContainerLayerCompression", request.Compression?.ToString());
        var lists = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal)
        {
            ["ContainerImageTags"] = request.Tags,
            ["ContainerPort"] = request.Ports,
            ["ContainerEntrypoint"] = request.Entrypoint,
            ["ContainerAppCommand"] = request.AppCommand,
            ["ContainerDefaultArgs"] = request.DefaultArgs,

            // Variables by name only: a value may be a secret that the user meant for the image alone.
            ["ContainerEnvironmentVariable"] = request.EnvironmentVariables.Select(e => e.Key).ToArray(),
            ["ContainerLabel"] = request.Labels.Select(l => l.Key).ToArray(),
            ["ContainerLayer"] = request.ExtraLayers.Select(l => l.Destination).ToArray(),
        };
        foreach (var empty in lists.Where(l => l.Value.Count == 0).Select(l => l.Key).ToArray())
        {
            lists.Remove(empty);
        }

        var dependencies = new List<ResourceDescriptor>
        {
            new() { Name = "base image", Uri = BaseUri(baseSource), Digest = Provenance.DigestMap(baseImage.ManifestDigest) },
        };
        var records = new List<LayerProvenance>();
        var ours = image.Layers.Skip(baseImage.Layers.Count).ToArray();
        for (var i = 0; i < plans.Count && i < ours.Length; i++)
        {
            var files = plans[i].Entries.Where(e => e.Kind != LayerEntryKind.Directory).Select(e => "/" + e.Path).ToArray();
            records.Add(new LayerProvenance(plans[i].Description, ours[i].DiffId, ours[i].Descriptor.Digest, ours[i].Descriptor.MediaType, files));
        }

        return new ProvenanceInputs
        {
            BuildType = Provenance.BuildTypePublish,
            Host = request.Host,
            Parameters = parameters,
            ListParameters = lists,
            Dependencies = dependencies,
            Source = string.IsNullOrWhiteSpace(request.SourceRepositoryUrl) ? null : new SourceRevision(request.SourceRepositoryUrl.Trim(), request.SourceRevision?.Trim()),
            Layers = records,
        };
    }

    // A registry image as a package URL, as BuildKit names its sources; a local archive by its transport and path.
    private static string BaseUri(ImageSource source)
        => source.Transport == ImageTransport.Registry && ImageReference.TryParse(source.Location, out var reference)
            ? $"pkg:docker/{reference.Registry}/{reference.Repository}{(reference.Tag is { } tag ? "@" + tag : string.Empty)}"
            : source.ToString();

    /// <summary>The image's own created time: documents about it carry the same, so equal builds give equal bytes.</summary>
    internal static DateTimeOffset CreatedOf(Image image)
        => DateTimeOffset.TryParse(image.Config.Created, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var created)
            ? created
            : DateTimeOffset.UnixEpoch;

    private static void AddIfSet(Dictionary<string, string> parameters, string name, string? value)
    {
        if (!string.IsNullOrWhiteSpace(value))
        {
            parameters[name] = value.Trim();
        }
    }
}
