using System.CommandLine;
using System.Text;
using System.Text.Json;
using Sdk.Containers.Archives;
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
        CliImages.AddTo(command);
        command.SetAction((parse, token) => Run(async () =>
        {
            var images = CliImages.From(parse);
            using var _ = images.Session;
            var loaded = await images.LoadOneAsync(parse.GetRequiredValue(reference), token);
            if (parse.GetValue(layout) is { } dir)
            {
                await OciLayoutWriter.WriteAsync(loaded.Image, TagOf(loaded.Name), dir, token);
            }

            if (parse.GetValue(archive) is { } file)
            {
                await DockerArchiveWriter.WriteAsync(loaded.Image, loaded.Name is null ? [] : [Shorten(loaded.Name)], file, DateTimeOffset.FromUnixTimeSeconds(1), token);
            }

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
        var command = new Command(name, description) { source, destination };
        CliImages.AddTo(command, push: true);
        command.SetAction((parse, token) => Run(async () =>
        {
            var images = CliImages.From(parse);
            using var _ = images.Session;
            var loaded = await images.LoadForPushAsync(parse.GetRequiredValue(source), token);
            await PushToAsync(images.Session, loaded.Select(l => l.Image).ToList(), parse.GetRequiredValue(destination), token);
        }));
        return command;
    }

    public static Command Inspect()
    {
        var target = new Argument<string>("IMAGE") { Description = "A registry reference, an archive, a layout, or a transport reference." };
        var raw = new Option<bool>("--raw") { Description = "Print the manifest exactly as stored." };
        var config = new Option<bool>("--config") { Description = "Print the config exactly as stored." };
        var json = new Option<bool>("--json") { Description = "Print a JSON summary." };
        var command = new Command("inspect", "Show the manifest, config and digests of an image.") { target, raw, config, json };
        CliImages.AddTo(command);
        command.SetAction((parse, token) => Run(async () =>
        {
            var images = CliImages.From(parse);
            using var _ = images.Session;
            var image = (await images.LoadOneAsync(parse.GetRequiredValue(target), token)).Image;
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
            }
        }));
        return command;
    }

    /// <summary>One image, or several platforms' images under an index.</summary>
    private static async Task PushToAsync(RegistrySession session, IReadOnlyList<Image> images, string destination, CancellationToken token)
    {
        var reference = ImageReference.Parse(destination, "destination");
        var location = new RepositoryLocation(reference.Registry, reference.Repository);
        var pusher = new RegistryPusher(session);
        string[] tags = [reference.Tag ?? "latest"];
        PushResult result;
        if (images.Count == 1)
        {
            result = await pusher.PushAsync(images[0], location, tags, token);
        }
        else
        {
            var (bytes, mediaType, _) = Publishing.IndexOutput.Index(images);
            result = await pusher.PushIndexAsync(images, bytes, mediaType, location, tags, token);
        }

        Console.Error.WriteLine($"{result.BlobsUploaded} blobs uploaded ({result.BytesUploaded:N0} bytes), {result.BlobsMounted} mounted, {result.BlobsExisting} already there");
        Console.WriteLine(result.ManifestDigest);
    }

    private static string? TagOf(string? name)
    {
        if (name is null)
        {
            return null;
        }

        var slash = name.LastIndexOf('/');
        var colon = name.LastIndexOf(':');
        return colon > slash ? name : name + ":latest";
    }

    private static string Shorten(string name) => name.StartsWith("docker.io/library/", StringComparison.Ordinal) ? name["docker.io/library/".Length..] : name;

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
