using Sdk.Containers.Digests;
using Sdk.Containers.Images;
using Sdk.Containers.Layers;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Supply;

/// <summary>The software of an image read from its file system alone (Dockerfile builds): the distribution's package
/// databases, the .NET shared frameworks and every app found by its .deps.json, after all the image's layers with
/// their whiteouts.</summary>
public static class FileSystemInventory
{
    /// <param name="imageName">The image, as its warnings name it.</param>
    public static async Task<SoftwareInventory> ReadAsync(string imageName, Image image, string? baseImageName, Digest? baseImageDigest,
        BlobStore store, CancellationToken cancellationToken)
    {
        var scan = new FileSystemScan(apps: true);
        await LayerTreeWalk.ReadAsync(image.Layers, store, [scan], cancellationToken).ConfigureAwait(false);
        var findings = scan.Findings!;

        var platform = image.Config.Platform;
        var builder = new InventoryBuilder { WarningPrefix = $"{imageName}: " };
        if (baseImageName is not null && baseImageDigest is { } digest)
        {
            builder.AddBaseImage(baseImageName, digest, platform);
        }

        // Without the base's own layers the packages cannot be told apart by where they came from: the image has them.
        builder.AddFileSystem(findings, SoftwareInventory.SubjectRef, platform);
        var rid = InventoryBuilder.RuntimeIdentifier(platform, findings.Os);
        foreach (var app in findings.Apps)
        {
            builder.AddApp(app.Deps, version: null, packageId: null, app.Frameworks, findings.Frameworks, rid);
        }

        return builder.Build();
    }
}
