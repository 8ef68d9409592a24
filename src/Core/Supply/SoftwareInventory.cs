using Sdk.Containers.Digests;

namespace Sdk.Containers.Supply;

/// <summary>What a component of an image is, as both SBOM formats classify it.</summary>
public enum SoftwareKind
{
    /// <summary>The app that was published (or one found by its .deps.json in the image).</summary>
    Application,

    /// <summary>A NuGet package or project reference of an app.</summary>
    Library,

    /// <summary>A .NET shared framework or runtime pack (Microsoft.NETCore.App, Microsoft.AspNetCore.App).</summary>
    Framework,

    /// <summary>The distribution, from os-release.</summary>
    OperatingSystem,

    /// <summary>A package of the distribution's package manager (dpkg, apk).</summary>
    OperatingSystemPackage,

    /// <summary>An image: the base.</summary>
    Container,
}

public enum RelationshipKind
{
    /// <summary>The image contains the app, the base's packages; the base image contains its OS packages.</summary>
    Contains,

    /// <summary>An app depends on its packages, project references and frameworks; a package on its dependencies.</summary>
    DependsOn,

    /// <summary>The image is built on the base image.</summary>
    DescendantOf,
}

public enum ChecksumAlgorithm
{
    Sha256,
    Sha512,
}

/// <summary>A checksum as lower-case hex.</summary>
public sealed record SoftwareChecksum(ChecksumAlgorithm Algorithm, string Hex);

/// <summary>One component. <see cref="Ref"/> identifies it within the inventory (its purl when it has one).</summary>
public sealed record SoftwareComponent
{
    public required string Ref { get; init; }

    public required string Name { get; init; }

    public string? Version { get; init; }

    public required SoftwareKind Kind { get; init; }

    public string? Purl { get; init; }

    public IReadOnlyList<SoftwareChecksum> Checksums { get; init; } = [];

    /// <summary>Where it was found: a file of the publish folder or a path of the image.</summary>
    public string? FoundIn { get; init; }
}

public sealed record SoftwareRelationship(string From, RelationshipKind Kind, string To);

/// <summary>An SBOM that is not this document: the base image's own, pushed as a referrer of the base.</summary>
/// <param name="Location">Where it is, e.g. "mcr.microsoft.com/dotnet/runtime@sha256:…" (the blob or manifest).</param>
public sealed record SbomReference(Digest Digest, string MediaType, string? Location = null)
{
    /// <summary>The referenced SPDX document's documentNamespace, when known: an SPDX document then names it in
    /// externalDocumentRefs (SPDX links documents by namespace).</summary>
    public string? SpdxDocumentNamespace { get; init; }
}

/// <summary>
/// The software an image holds, as the SBOM writers need it: components with their identities and checksums, and
/// how they relate. The image itself is <see cref="SubjectRef"/>; relationships may start or end there. Sorted and
/// de-duplicated on construction, so the same software gives the same document whatever order it was found in.
/// </summary>
public sealed class SoftwareInventory
{
    /// <summary>The image the document is about, in relationships.</summary>
    public const string SubjectRef = "image";

    public SoftwareInventory(IEnumerable<SoftwareComponent> components, IEnumerable<SoftwareRelationship> relationships, IEnumerable<string>? warnings = null)
    {
        var byRef = new SortedDictionary<string, SoftwareComponent>(StringComparer.Ordinal);
        foreach (var component in components)
        {
            if (component.Ref == SubjectRef)
            {
                throw new ArgumentException($"'{SubjectRef}' is the image's own reference; a component cannot use it.", nameof(components));
            }

            // The same package found twice (two apps in one image use it) is one component; the first place found stays.
            byRef.TryAdd(component.Ref, component);
        }

        Components = [.. byRef.Values];
        var distinct = new SortedSet<SoftwareRelationship>(relationships, RelationshipOrder.Instance);
        foreach (var relationship in distinct)
        {
            foreach (var end in new[] { relationship.From, relationship.To })
            {
                if (end != SubjectRef && !byRef.ContainsKey(end))
                {
                    throw new ArgumentException($"The relationship {relationship.From} {relationship.Kind} {relationship.To} names '{end}', which is no component.", nameof(relationships));
                }
            }
        }

        Relationships = [.. distinct];
        Warnings = [.. (warnings ?? []).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
    }

    public static SoftwareInventory Empty { get; } = new([], []);

    /// <summary>Sorted by <see cref="SoftwareComponent.Ref"/>.</summary>
    public IReadOnlyList<SoftwareComponent> Components { get; }

    public IReadOnlyList<SoftwareRelationship> Relationships { get; }

    /// <summary>What could not be read (a damaged package database, a .deps.json that is no JSON) and was left out:
    /// for the build log.</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>The base image's own SBOM, which the documents link to.</summary>
    public SbomReference? BaseImageSbom { get; private init; }

    public SoftwareComponent? BaseImage => Components.FirstOrDefault(c => c.Kind == SoftwareKind.Container);

    public IEnumerable<SoftwareComponent> OfKind(SoftwareKind kind) => Components.Where(c => c.Kind == kind);

    public SoftwareInventory WithBaseImageSbom(SbomReference? reference)
        => new(Components, Relationships, Warnings) { BaseImageSbom = reference };

    /// <summary>This inventory and another's components and relationships (an image's OS packages and its app's).</summary>
    public SoftwareInventory Merge(SoftwareInventory other)
        => new([.. Components, .. other.Components], [.. Relationships, .. other.Relationships], [.. Warnings, .. other.Warnings]) { BaseImageSbom = BaseImageSbom ?? other.BaseImageSbom };

    private sealed class RelationshipOrder : IComparer<SoftwareRelationship>
    {
        public static RelationshipOrder Instance { get; } = new();

        public int Compare(SoftwareRelationship? x, SoftwareRelationship? y)
        {
            var c = string.CompareOrdinal(x!.From, y!.From);
            c = c != 0 ? c : x.Kind.CompareTo(y.Kind);
            return c != 0 ? c : string.CompareOrdinal(x.To, y.To);
        }
    }
}
