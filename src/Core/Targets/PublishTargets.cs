using Sdk.Containers.Registry;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Targets;

/// <summary>Where an MSBuild container step sends its image, from the project's properties.</summary>
public sealed record PublishDestinations
{
    /// <summary>ContainerRegistry: the registries to push to, each normalized to host[:port].</summary>
    public IReadOnlyList<string> Registries { get; init; } = [];

    /// <summary>ContainerArchiveOutputPath, resolved to a file.</summary>
    public string? ArchivePath { get; init; }

    /// <summary>The inner build of a multi-RID publish: the image goes into this OCI layout, in its own format, for the index.</summary>
    public string? OciLayoutPath { get; init; }

    public string? LocalRegistry { get; init; }

    /// <summary>The tarball written when no engine answers, resolved to a file.</summary>
    public string? FallbackArchivePath { get; init; }

    public DateTimeOffset Timestamp { get; init; } = Layers.LayerWriterOptions.DefaultTimestamp;

    /// <summary>A multi-RID publish: the archive is an oci-archive holding the index, and there is no fallback tarball.</summary>
    public bool Index { get; init; }
}

/// <summary>
/// The targets for <see cref="PublishDestinations"/>, in the order they are written: the archive (skipped when it
/// already holds this image), the OCI layout, then the registry. With none of them, the local engine or the fallback
/// tarball, chosen before any work so a missing engine fails fast.
/// </summary>
public static class PublishTargets
{
    public static async Task<IReadOnlyList<IImageTarget>> ChooseAsync(PublishDestinations destinations, RegistrySession registries, BuildCache cache, IBuildLog log, CancellationToken cancellationToken)
    {
        var targets = new List<IImageTarget>();
        if (destinations.ArchivePath is { } archive)
        {
            IImageTarget file = destinations.Index
                ? new OciArchiveTarget(archive, destinations.Timestamp, log)
                : new DockerArchiveTarget(archive, destinations.Timestamp, log);
            targets.Add(new UpToDateFileTarget(file, archive, cache, destinations.Timestamp, log));
        }

        if (destinations.OciLayoutPath is { } layout)
        {
            targets.Add(new OciLayoutTarget(layout, log));
        }

        if (destinations.Registries.Count > 0)
        {
            targets.Add(new RegistryTarget(registries, log));
        }

        if (targets.Count == 0)
        {
            targets.Add(destinations.Index
                ? new EngineTarget(null, destinations.LocalRegistry, destinations.Timestamp, log)
                : await LocalEngineChoice.ChooseAsync(destinations.LocalRegistry, destinations.FallbackArchivePath, destinations.Timestamp, log, cancellationToken).ConfigureAwait(false));
        }

        return targets;
    }
}
