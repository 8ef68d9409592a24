using Sdk.Containers.Images;
using Sdk.Containers.IO;

namespace Sdk.Containers.Supply;

/// <summary>
/// Attached documents as plain files beside the output (like ko's --sbom-dir), for tools that read files:
/// &lt;repository&gt;[.&lt;os&gt;-&lt;arch&gt;].&lt;kind&gt;, each written whole or not at all.
/// </summary>
public static class AttachmentFiles
{
    public static async Task WriteAsync(string directory, string repository, Platform platform, IEnumerable<(string Kind, byte[] Bytes)> documents, IBuildLog log, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        var stem = $"{repository.Replace('/', '-')}.{platform.ToString().Replace('/', '-')}";
        foreach (var (kind, bytes) in documents)
        {
            var path = Path.Combine(directory, $"{stem}.{kind}");
            await AtomicFile.WriteAllBytesAsync(path, bytes, cancellationToken).ConfigureAwait(false);
            log.Info($"Wrote {path}");
        }
    }
}
