using Sdk.Containers.Images;
using Sdk.Containers.Storage;
using Sdk.Containers.Supply;

namespace Sdk.Containers.Dockerfiles;

/// <summary>
/// The documents a Dockerfile build attaches to its image: the SBOM of what its final file system holds (OS package
/// databases, every *.deps.json), and the provenance: the Dockerfile by digest, every image it read, the build
/// arguments by name (their values may be secrets), the target and platform.
/// </summary>
public static class DockerfileAttachments
{
    /// <param name="reserialised">The built image with other media types, when the documents are for that one.</param>
    public static async Task<IReadOnlyList<Referrer>> CreateAsync(
        DockerfileBuildRequest request,
        DockerfileBuildResult result,
        AttachmentOptions options,
        string subjectName,
        string host,
        BlobStore store,
        IBuildLog log,
        CancellationToken cancellationToken,
        Image? reserialised = null)
    {
        // An output that writes the image with other media types gets documents of its own (they name the manifest's
        // digest); the files beside the output were written for the image as built.
        var image = reserialised ?? result.Image;
        var created = Publishing.PublishAttachments.CreatedOf(image);
        var documents = new List<(string Kind, string MediaType, byte[] Bytes)>();

        var baseImage = ResolvedImage.BaseOf(result.Images, image.Config.RootFs.DiffIds);
        if (options.Sbom is { } format)
        {
            var inventory = await FileSystemInventory.ReadAsync(subjectName, image, baseImage?.Source, baseImage?.Digest, store, cancellationToken).ConfigureAwait(false);
            documents.Add((format == SbomFormat.Spdx ? "spdx.json" : "cdx.json", SbomDocument.MediaType(format), SbomDocument.Write(format, inventory, new SbomSubject(subjectName, image.ManifestDigest, image.Config.Platform, created))));
        }

        if (options.Provenance is { } mode)
        {
            var dependencies = result.Images
                .Select(i => new ResourceDescriptor { Name = i.Name, Uri = i.Source, Digest = Provenance.DigestMap(i.Digest) })
                .ToList();
            if (result.DockerfileDigest is { } dockerfile)
            {
                dependencies.Insert(0, new ResourceDescriptor { Name = result.DockerfileName, Digest = Provenance.DigestMap(dockerfile) });
            }

            var parameters = new Dictionary<string, string>(StringComparer.Ordinal) { ["dockerfile"] = result.DockerfileName, ["platform"] = image.Config.Platform.ToString() };
            if (request.Target is { } target)
            {
                parameters["target"] = target;
            }

            var inputs = new ProvenanceInputs
            {
                BuildType = Provenance.BuildTypeDockerfile,
                Host = host,
                Parameters = parameters,
                ListParameters = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal)
                {
                    ["build-arg"] = request.BuildArguments.Keys.Order(StringComparer.Ordinal).ToArray(),
                    ["secret"] = request.Secrets.Keys.Order(StringComparer.Ordinal).ToArray(),
                },
                Dependencies = dependencies,
                Layers = image.Layers.Select((l, i) => new LayerProvenance($"layer {i + 1}", l.DiffId, l.Descriptor.Digest, l.Descriptor.MediaType, [])).ToArray(),
                Steps = result.Steps,
            };
            documents.Add(("provenance.json", ProvenanceStatement.MediaType, Provenance.Write(inputs, mode, subjectName, image.ManifestDigest, created)));
        }

        if (options.Directory is { } directory && reserialised is null)
        {
            await AttachmentFiles.WriteAsync(directory, subjectName.Split('/')[^1], image.Config.Platform, documents.Select(d => (d.Kind, d.Bytes)), log, cancellationToken).ConfigureAwait(false);
        }

        return documents.Select(d => Referrer.Create(image, d.MediaType, d.Bytes, created)).ToArray();
    }
}
