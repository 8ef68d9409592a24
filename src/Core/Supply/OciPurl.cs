using Sdk.Containers.Digests;
using Sdk.Containers.Images;
using Sdk.Containers.References;

namespace Sdk.Containers.Supply;

/// <summary>pkg:oci purls as the purl spec defines them: the repository's last segment as the name, the manifest
/// digest as the version, repository_url (registry and repository, no tag), tag and arch as qualifiers.</summary>
public static class OciPurl
{
    public static string Create(string imageName, Digest manifestDigest, Platform? platform)
    {
        string name;
        string? repositoryUrl = null;
        string? tag = null;
        if (ImageReference.TryParse(imageName, out var reference))
        {
            name = reference.Repository[(reference.Repository.LastIndexOf('/') + 1)..];
            repositoryUrl = $"{reference.Registry}/{reference.Repository}";
            tag = reference.Tag;
        }
        else
        {
            // Not a registry name (an OCI layout or archive path): its last segment, without a tag, names it.
            var last = imageName.TrimEnd('/')[(imageName.TrimEnd('/').LastIndexOfAny(['/', '\\']) + 1)..];
            name = (last.Contains(':') && !last.EndsWith(':') ? last[..last.IndexOf(':')] : last).ToLowerInvariant();
        }

        return Purl.Create("oci", null, name, manifestDigest.ToString(),
        [
            new("arch", platform?.Architecture is { Length: > 0 } arch ? arch : null),
            new("repository_url", repositoryUrl),
            new("tag", tag),
        ]);
    }
}
