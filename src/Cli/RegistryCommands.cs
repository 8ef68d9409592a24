using System.CommandLine;
using System.Text;
using System.Text.Json;
using Sdk.Containers.Targets;
using Sdk.Containers.Images;
using Sdk.Containers.References;
using Sdk.Containers.Registry;

namespace Sdk.Containers.Cli;

/// <summary>pull, push, copy and inspect: each maps its arguments onto the same core calls the build uses.</summary>
internal static class RegistryCommands
{
    public static Command Pull()
    {
        var reference = new Argument<string>("REFERENCE") { Description = "The image to pull, e.g. registry.example.com/team/app:1.0." };
        var layout = new Option<string?>("--oci-layout") { Description = "Also write the image into this OCI layout directory." };
        var archive = new Option<string?>("--archive") { Description = "Also write a `docker load` tarball here." };
        var command = new Command("pull", "Pull an image into the local blob store (and optionally a layout or tarball), verifying every digest.") { reference, layout, archive };
        ImageCommandContext.AddTo(command);
        command.SetAction((parse, token) => Run(async () =>
        {
            var images = ImageCommandContext.From(parse);
            using var _ = images.Services;
            var loaded = await images.LoadOneAsync(parse.GetRequiredValue(reference), token);
            ImageReference[] names = loaded.Name is { } n && ImageReference.TryParse(n, out var name) ? [name] : [];
            var targets = new List<IImageTarget>();
            if (parse.GetValue(layout) is { } dir)
            {
                targets.Add(new OciLayoutTarget(dir, images.Log));
            }

            if (parse.GetValue(archive) is { } file)
            {
                targets.Add(new DockerArchiveTarget(file, Layers.LayerWriterOptions.DefaultTimestamp, images.Log));
            }

            await ImageDelivery.SendAsync(ImageArtifact.Of(loaded.Image), names, targets, images.Log, token);

            Console.WriteLine(loaded.Image.ManifestDigest);
        }));
        return command;
    }

    public static Command Push() => Transfer(
        "push",
        "Push an image from an archive or layout to a registry.",
        "A docker-archive or oci-archive tarball, an OCI layout directory, or a transport reference.");

    public static Command Copy() => Transfer(
        "copy",
        "Copy an image to a registry, mounting blobs across repositories of the same registry instead of uploading them.",
        "A registry reference, archive or layout.");

    /// <summary>push and copy are one operation: load an image from anywhere, push it to a registry.</summary>
    private static Command Transfer(string name, string description, string sourceDescription)
    {
        var source = new Argument<string>("SOURCE") { Description = sourceDescription };
        var destination = new Argument<string>("DESTINATION") { Description = "Where to push, e.g. registry.example.com/team/app:1.0." };
        var sbom = new Option<bool>("--sbom") { Description = "Carry the image's SBOMs along (default true).", DefaultValueFactory = _ => true };
        var provenance = new Option<bool>("--provenance") { Description = "Carry the image's provenance along (default true).", DefaultValueFactory = _ => true };
        var command = new Command(name, description) { source, destination, sbom, provenance };
        ImageCommandContext.AddTo(command, push: true);
        command.SetAction((parse, token) => Run(async () =>
        {
            var images = ImageCommandContext.From(parse);
            using var _ = images.Services;
            var from = parse.GetRequiredValue(source);
            var loaded = await images.LoadForPushAsync(from, token);
            var referrers = new List<Supply.Referrer>();
            foreach (var image in loaded)
            {
                referrers.AddRange(AttachedDocuments.Keep(await AttachedDocuments.ReadAsync(images, from, image.Image, token), parse.GetValue(sbom), parse.GetValue(provenance)));
            }

            await PushToAsync(images, loaded.Select(l => l.Image).ToList(), referrers, parse.GetRequiredValue(destination), token);
        }));
        return command;
    }

    public static Command Inspect()
    {
        var target = new Argument<string>("IMAGE") { Description = "A registry reference, an archive, a layout, or a transport reference." };
        var raw = new Option<bool>("--raw") { Description = "Print the manifest exactly as stored." };
        var config = new Option<bool>("--config") { Description = "Print the config exactly as stored." };
        var json = new Option<bool>("--json") { Description = "Print a JSON summary." };
        var sbom = new Option<bool>("--sbom") { Description = "Print the SBOM attached to the image." };
        var provenance = new Option<bool>("--provenance") { Description = "Print the provenance attached to the image." };
        var command = new Command("inspect", "Show the manifest, config, digests and attached documents (referrers) of an image.") { target, raw, config, json, sbom, provenance };
        ImageCommandContext.AddTo(command);
        command.SetAction((parse, token) => Run(async () =>
        {
            var images = ImageCommandContext.From(parse);
            using var _ = images.Services;
            var image = (await images.LoadOneAsync(parse.GetRequiredValue(target), token)).Image;
            if (parse.GetValue(sbom) || parse.GetValue(provenance))
            {
                var wanted = (await AttachedDocuments.ReadAsync(images, parse.GetRequiredValue(target), image, token))
                    .Where(r => parse.GetValue(sbom) ? AttachedDocuments.IsSbom(r) : AttachedDocuments.IsProvenance(r)).ToArray();
                if (wanted.Length == 0)
                {
                    throw new ContainerException(ErrorCodes.ImageNotFound, $"{parse.GetRequiredValue(target)} ({image.ManifestDigest}) has no {(parse.GetValue(sbom) ? "SBOM" : "provenance")} attached.");
                }

                foreach (var document in wanted)
                {
                    Console.WriteLine(Encoding.UTF8.GetString(document.Document));
                }

                return;
            }

            var referrers = await AttachedDocuments.ReadAsync(images, parse.GetRequiredValue(target), image, token);
            if (parse.GetValue(raw))
            {
                Console.WriteLine(Encoding.UTF8.GetString(image.ManifestBytes));
            }
            else if (parse.GetValue(config))
            {
                Console.WriteLine(Encoding.UTF8.GetString(image.ConfigBytes));
            }
            else if (parse.GetValue(json))
            {
                using var stream = Console.OpenStandardOutput();
                using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
                writer.WriteStartObject();
                writer.WriteString("digest", image.ManifestDigest.ToString());
                writer.WriteString("mediaType", image.ManifestMediaType);
                writer.WriteString("imageId", image.ConfigDigest.ToString());
                writer.WriteString("platform", image.Config.Platform.ToString());
                writer.WriteStartArray("layers");
                foreach (var layer in image.Layers)
                {
                    writer.WriteStartObject();
                    writer.WriteString("digest", layer.Descriptor.Digest.ToString());
                    writer.WriteString("diffId", layer.DiffId.ToString());
                    writer.WriteNumber("size", layer.Descriptor.Size);
                    writer.WriteString("mediaType", layer.Descriptor.MediaType);
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
                writer.WriteStartArray("referrers");
                foreach (var referrer in referrers)
                {
                    writer.WriteStartObject();
                    writer.WriteString("digest", referrer.ManifestDigest.ToString());
                    writer.WriteString("artifactType", referrer.ArtifactType);
                    writer.WriteNumber("size", referrer.Document.Length);
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
                writer.Flush();
                Console.WriteLine();
            }
            else
            {
                Console.WriteLine($"digest    {image.ManifestDigest}  {image.ManifestMediaType}");
                Console.WriteLine($"image id  {image.ConfigDigest}");
                Console.WriteLine($"platform  {image.Config.Platform}");
                for (var i = 0; i < image.Layers.Count; i++)
                {
                    Console.WriteLine($"layer {i + 1,-3} {image.Layers[i].Descriptor.Digest}  {image.Layers[i].Descriptor.Size,12:N0} bytes");
                }

                foreach (var referrer in referrers)
                {
                    Console.WriteLine($"referrer  {referrer.ManifestDigest}  {referrer.ArtifactType}");
                }
            }
        }));
        return command;
    }

    /// <summary>One image, or several platforms' images under an index.</summary>
    private static async Task PushToAsync(ImageCommandContext images, IReadOnlyList<Image> loaded, IReadOnlyList<Supply.Referrer> referrers, string destination, CancellationToken token)
    {
        var artifact = (loaded.Count == 1 ? ImageArtifact.Of(loaded[0]) : ImageArtifact.IndexOf(loaded)).WithReferrers(referrers);
        var result = (await new RegistryTarget(images.Session, images.Log).WriteAsync(artifact, [ImageReference.Parse(destination, "destination")], token)).Pushes.Single();
        Console.WriteLine(result.ManifestDigest);
    }

    private static async Task<int> Run(Func<Task> action)
    {
        try
        {
            await action();
            return 0;
        }
        catch (Exception ex)
        {
            return CliErrors.Report(ex);
        }
    }
}
