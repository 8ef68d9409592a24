using System.CommandLine;
using Sdk.Containers.Images;
using Sdk.Containers.Registry;
using Sdk.Containers.Sources;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Cli;

/// <summary>Options and helpers the image commands share: the blob store, registries, and where an image comes from.</summary>
internal sealed class ImageCommandContext
{
    public static readonly Option<string?> Cache = new("--cache") { Description = "The blob store (default: $SDK_CONTAINERS_CACHE or ~/.cache/sdk-containers)." };

    public static readonly Option<string[]> Insecure = new("--insecure-registry")
    {
        Description = "A registry (host:port) that may be reached over plain HTTP; loopback registries always may. Repeatable.",
        AllowMultipleArgumentsPerToken = false,
    };

    public static readonly Option<string?> PlatformOption = new("--platform") { Description = "os/arch[/variant] or a runtime identifier (default: linux/amd64 for registries, the only image for files)." };

    public static readonly Option<long?> ChunkSize = new("--chunk-size") { Description = "Largest request body of a blob upload in bytes; larger blobs go in chunks (default 64 MiB)." };

    public static void AddTo(Command command, bool platform = true, bool push = false)
    {
        command.Options.Add(Cache);
        command.Options.Add(Insecure);
        if (platform)
        {
            command.Options.Add(PlatformOption);
        }

        if (push)
        {
            command.Options.Add(ChunkSize);
        }
    }

    private ImageCommandContext(ParseResult parse)
    {
        Services = ImageServices.Create(
            parse.GetValue(Cache),
            new RegistryOptions
            {
                InsecureRegistries = parse.GetValue(Insecure) ?? [],
                MaxChunkSize = parse.GetValue(ChunkSize) ?? new RegistryOptions().MaxChunkSize,
            },
            new ConsoleBuildLog());
        Platform = parse.GetValue(PlatformOption) is { } p ? Images.Platform.Parse(p) : null;
    }

    /// <summary>The command's services, made once; disposed with the command (<c>using var _ = images.Services</c>).</summary>
    public ImageServices Services { get; }

    public BlobStore Store => Services.Store;

    public RegistrySession Session => Services.Registries;

    public IBuildLog Log => Services.Log;

    public Platform? Platform { get; }

    public static ImageCommandContext From(ParseResult parse) => new(parse);

    /// <summary>A local path or transport reference is read from disk; anything else is a registry reference.</summary>
    public static ImageSource SourceOf(string value)
    {
        var looksLocal = File.Exists(value) || Directory.Exists(value)
            || value.StartsWith("docker-archive:", StringComparison.OrdinalIgnoreCase)
            || value.StartsWith("oci:", StringComparison.OrdinalIgnoreCase)
            || value.StartsWith("oci-archive:", StringComparison.OrdinalIgnoreCase);
        return looksLocal ? ImageSource.FromPath(value) : ImageSource.Parse(value);
    }

    /// <summary>
    /// What to push from a source: the image for the platform asked for, its only image, or — for an archive or
    /// layout holding one image per platform (a multi-platform oci-archive) — all of them, to go under an index.
    /// </summary>
    public async Task<IReadOnlyList<LoadedImage>> LoadForPushAsync(string value, CancellationToken cancellationToken)
    {
        var source = SourceOf(value);
        if (Platform is not null || source.Transport == ImageTransport.Registry)
        {
            return [await LoadOneAsync(value, cancellationToken)];
        }

        var images = (await new ImageLoader(Store, Session, log: Log).LoadAllAsync(source, cancellationToken)).DistinctBy(i => i.Image.ManifestDigest).ToArray();
        var platforms = images.Select(i => i.Image.Config.Platform.ToString()).Distinct(StringComparer.Ordinal).Count();
        return images.Length == 1 || platforms == images.Length
            ? images
            : throw new ContainerException(ErrorCodes.InvalidImageSource, $"{source} holds {images.Length} images, some for the same platform; choose one with --platform or a :TAG.");
    }

    /// <summary>The one image a source holds for the platform asked for (or its only image).</summary>
    public async Task<LoadedImage> LoadOneAsync(string value, CancellationToken cancellationToken)
    {
        var source = SourceOf(value);
        var loader = new ImageLoader(Store, Session, log: Log);
        if (Platform is not null || source.Transport == ImageTransport.Registry)
        {
            return await loader.LoadAsync(source, Platform ?? Images.Platform.FromRuntimeIdentifier("linux-x64"), cancellationToken);
        }

        var images = (await loader.LoadAllAsync(source, cancellationToken)).DistinctBy(i => i.Image.ManifestDigest).ToArray();
        return images.Length == 1
            ? images[0]
            : throw new ContainerException(ErrorCodes.InvalidImageSource, $"{source} holds {images.Length} images; choose one with --platform or a :TAG.");
    }
}

internal sealed class ConsoleBuildLog : IBuildLog
{
    private readonly bool _verbose = Environment.GetEnvironmentVariable("SDK_CONTAINERS_VERBOSE") == "1";

    public void Info(string message) => Console.Error.WriteLine(message);

    public void Detail(string message)
    {
        if (_verbose)
        {
            Console.Error.WriteLine(message);
        }
    }

    public void Warning(string code, string message) => Console.Error.WriteLine($"warning {code}: {message}");
}
