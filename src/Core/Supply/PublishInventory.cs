using Sdk.Containers.Images;
using Sdk.Containers.Layers;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Supply;

/// <summary>The software of a published app put on a base image: the app and its libraries from the publish
/// folder's .deps.json, the frameworks from its .runtimeconfig.json (as the base has them) or its runtime packs, the
/// base image with its distribution packages and shared frameworks.</summary>
public static class PublishInventory
{
    /// <summary>Reads the publish folder and the base's layers (once per base: <see cref="BaseScan"/> shares the pass
    /// and the cache).</summary>
    /// <param name="packageId">The app's NuGet package id when the project is packable: the app gets a pkg:nuget purl.</param>
    public static async Task<SoftwareInventory> ReadAsync(string publishDirectory, string assemblyName, string? appVersion, string? packageId,
        string baseImageName, Image baseImage, BlobStore store, CancellationToken cancellationToken)
    {
        var depsFile = Path.Combine(publishDirectory, assemblyName + ".deps.json");
        if (!File.Exists(depsFile))
        {
            throw new ContainerException(ErrorCodes.SbomInputUnreadable, $"The publish folder {publishDirectory} has no {assemblyName}.deps.json, so the app's packages are unknown and no SBOM can list them. Publish without GenerateDependencyFile=false.");
        }

        var deps = DotnetDeps.Parse(await File.ReadAllBytesAsync(depsFile, cancellationToken).ConfigureAwait(false), Path.GetFileName(depsFile), assemblyName, out var problem)
            ?? throw new ContainerException(ErrorCodes.SbomInputUnreadable, $"{depsFile}: {problem}. Publish again to write it anew.");

        var runtimeConfigFile = Path.Combine(publishDirectory, assemblyName + ".runtimeconfig.json");
        IReadOnlyList<FrameworkRequest> frameworks = [];
        if (File.Exists(runtimeConfigFile))
        {
            frameworks = RuntimeConfig.Parse(await File.ReadAllBytesAsync(runtimeConfigFile, cancellationToken).ConfigureAwait(false), runtimeConfigFile, out problem)
                ?? throw new ContainerException(ErrorCodes.SbomInputUnreadable, $"{problem}. Publish again to write it anew.");
        }

        var scan = BaseScan();
        await LayerTreeWalk.ReadAsync(baseImage.Layers, store, [scan.Finding], cancellationToken).ConfigureAwait(false);
        var findings = scan.Findings;

        var platform = baseImage.Config.Platform;
        var builder = new InventoryBuilder();
        var baseRef = builder.AddBaseImage(baseImageName, baseImage.ManifestDigest, platform);
        builder.AddFileSystem(findings, baseRef, platform);
        builder.AddApp(deps, appVersion, packageId, frameworks, findings.Frameworks, InventoryBuilder.RuntimeIdentifier(platform, findings.Os));
        return builder.Build();
    }

    /// <summary>
    /// The base's part of the SBOM as a finding of a <see cref="LayerTreeWalk"/>: pass <see cref="BaseImageScan.Finding"/>
    /// with the base tree's (<see cref="BaseTree.Finding"/>) to one <see cref="LayerTreeWalk.ReadAsync"/>, and the base
    /// is read once for both; <see cref="ReadAsync"/> then takes its findings from the cache.
    /// </summary>
    public static BaseImageScan BaseScan() => new(new FileSystemScan(apps: false));
}

/// <summary>The SBOM's reader of a base image's layers (see <see cref="PublishInventory.BaseScan"/>).</summary>
public sealed class BaseImageScan
{
    private readonly FileSystemScan _scan;

    internal BaseImageScan(FileSystemScan scan)
    {
        _scan = scan;
    }

    public ILayerChainFinding Finding => _scan;

    internal FileSystemFindings Findings => _scan.Findings ?? throw new InvalidOperationException("The base's layers have not been read yet.");
}
