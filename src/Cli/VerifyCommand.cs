using System.CommandLine;
using Sdk.Containers.Sources;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Cli;

internal static class VerifyCommand
{
    public static Command Create()
    {
        var path = new Argument<string>("PATH")
        {
            Description = "A docker-archive or oci-archive tarball, an OCI layout directory, or a transport reference (docker-archive:PATH, oci:PATH[:TAG], oci-archive:PATH[:TAG]).",
        };
        var cache = new Option<string?>("--cache") { Description = "The blob store to use (default: the shared user cache)." };
        var command = new Command("verify", "Check every digest, diff_id and layer of an image archive or layout, as `docker load` would, and summarise it.")
        {
            path,
            cache,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            try
            {
                var source = ImageSource.FromPath(parse.GetRequiredValue(path));
                // verify always reads everything again: that is what it is for. It imports into the store, so it holds
                // it as a build does: no trim or prune removes a blob it reads.
                var store = BlobStore.CreateDefault(parse.GetValue(cache));
                using var hold = store.Share();
                var loader = new ImageLoader(store, reverify: true);
                var images = await loader.LoadAllAsync(source, cancellationToken);
                if (images.Count == 0)
                {
                    Console.Error.WriteLine($"error: {source} holds no image.");
                    return 1;
                }

                Console.WriteLine($"OK {source}: {images.Count} image(s) verified");
                foreach (var loaded in images)
                {
                    var image = loaded.Image;
                    Console.WriteLine($"  image    {loaded.Name ?? "(unnamed)"}  {image.Config.Platform}");
                    Console.WriteLine($"  manifest {image.ManifestDigest}  {image.ManifestMediaType}");
                    Console.WriteLine($"  config   {image.ConfigDigest}  (image ID)");
                    for (var i = 0; i < image.Layers.Count; i++)
                    {
                        var layer = image.Layers[i];
                        Console.WriteLine($"  layer {i + 1,-2} {layer.Descriptor.Digest}  {layer.Descriptor.Size,12:N0} bytes  diff_id {layer.DiffId}");
                    }
                }

                return 0;
            }
            catch (Exception ex)
            {
                return CliErrors.Report(ex);
            }
        });
        return command;
    }
}
