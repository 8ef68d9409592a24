using System.Reflection;
using System.Text.Json;
using Sdk.Containers.Digests;

namespace Sdk.Containers.Supply;

public enum ProvenanceMode
{
    /// <summary>What shaped the image: the parameters, the base image, the sources, the builder.</summary>
    Min,

    /// <summary>Min and what the build made on its way: each layer with its files, each Dockerfile step.</summary>
    Max,
}

/// <summary>The source a build came from, as SourceLink knows it.</summary>
public sealed record SourceRevision(string RepositoryUrl, string? Revision);

/// <summary>One layer of the image and what made it (max mode).</summary>
public sealed record LayerProvenance(string Description, Digest DiffId, Digest BlobDigest, string MediaType, IReadOnlyList<string> Files);

/// <summary>
/// One Dockerfile file step (max mode): its stage, its line and text as written (not expanded: build arguments may
/// hold secrets), and the layer it made if any. Whether it ran or came from a cache is left out, so the same inputs
/// give the same statement.
/// </summary>
public sealed record StepProvenance(string Stage, int Line, string Instruction, Digest? DiffId);

/// <summary>Everything a provenance statement says, gathered by the publish or Dockerfile path.</summary>
public sealed record ProvenanceInputs
{
    /// <summary>The kind of build, as a URI of ours: publish or dockerfile.</summary>
    public required string BuildType { get; init; }

    /// <summary>Who ran it: msbuild or cli.</summary>
    public required string Host { get; init; }

    /// <summary>The user's choices by property or flag name. Never a secret: hosts pass only what the image shows anyway.</summary>
    public IReadOnlyDictionary<string, string> Parameters { get; init; } = new Dictionary<string, string>();

    public IReadOnlyDictionary<string, IReadOnlyList<string>> ListParameters { get; init; } = new Dictionary<string, IReadOnlyList<string>>();

    /// <summary>The base images (by name and digest), the Dockerfile, other inputs by digest.</summary>
    public IReadOnlyList<ResourceDescriptor> Dependencies { get; init; } = [];

    public SourceRevision? Source { get; init; }

    public IReadOnlyList<LayerProvenance> Layers { get; init; } = [];

    /// <summary>Dockerfile steps in order (max mode).</summary>
    public IReadOnlyList<StepProvenance> Steps { get; init; } = [];
}

/// <summary>Writes the SLSA provenance v1 statement of an image: deterministic bytes, no credential, no clock.</summary>
public static class Provenance
{
    public const string BuildTypePublish = "https://sdk-containers.dev/buildtypes/publish/v1";
    public const string BuildTypeDockerfile = "https://sdk-containers.dev/buildtypes/dockerfile/v1";

    private static readonly JsonSerializerOptions Options = new(ProvenanceJsonContext.Default.Options)
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private static readonly ProvenanceJsonContext Context = new(Options);

    public static string BuilderVersion { get; } =
        typeof(Provenance).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    public static byte[] Write(ProvenanceInputs inputs, ProvenanceMode mode, string subjectName, Digest manifestDigest, DateTimeOffset created)
    {
        var external = new SortedDictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var (name, value) in inputs.Parameters)
        {
            external[name] = JsonSerializer.SerializeToElement(value, Context.String);
        }

        foreach (var (name, values) in inputs.ListParameters)
        {
            external[name] = JsonSerializer.SerializeToElement(values, Context.IReadOnlyListString);
        }

        var dependencies = new List<ResourceDescriptor>(inputs.Dependencies);
        if (inputs.Source is { } source)
        {
            var uri = "git+" + WithoutCredentials(source.RepositoryUrl);
            dependencies.Add(new ResourceDescriptor
            {
                Uri = uri,
                Digest = source.Revision is { Length: > 0 } revision ? new SortedDictionary<string, string>(StringComparer.Ordinal) { ["gitCommit"] = revision } : null,
            });
        }

        var byproducts = mode == ProvenanceMode.Max ? LayerByproducts(inputs.Layers).Concat(StepByproducts(inputs.Steps)).ToArray() : null;
        var statement = new ProvenanceStatement
        {
            Subject = [new ResourceDescriptor { Name = subjectName, Digest = DigestMap(manifestDigest) }],
            Predicate = new SlsaProvenance
            {
                BuildDefinition = new BuildDefinition
                {
                    BuildType = inputs.BuildType,
                    ExternalParameters = external,
                    InternalParameters = new SortedDictionary<string, string>(StringComparer.Ordinal) { ["provenanceMode"] = mode == ProvenanceMode.Max ? "max" : "min" },
                    ResolvedDependencies = dependencies.Count > 0 ? dependencies : null,
                },
                RunDetails = new RunDetails
                {
                    Builder = new BuilderIdentity
                    {
                        Id = $"https://sdk-containers.dev/builders/{inputs.Host}",
                        Version = new SortedDictionary<string, string>(StringComparer.Ordinal) { ["sdk-containers"] = BuilderVersion },
                    },
                    Metadata = new BuildMetadata { FinishedOn = created.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture) },
                    Byproducts = byproducts is { Length: > 0 } ? byproducts : null,
                },
            },
        };
        return JsonSerializer.SerializeToUtf8Bytes(statement, Context.ProvenanceStatement);
    }

    public static SortedDictionary<string, string> DigestMap(Digest digest)
        => new(StringComparer.Ordinal) { [digest.Algorithm] = digest.Hex };

    /// <summary>A repository URL as it may be published: user and password (a CI token in the URL) taken out.</summary>
    public static string WithoutCredentials(string url)
    {
        if (Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.UserInfo.Length > 0)
        {
            return new UriBuilder(uri) { UserName = string.Empty, Password = string.Empty }.Uri.ToString();
        }

        // scp-like git addresses (git@host:org/repo) name a user, not a secret; anything else with an '@' before
        // the host is cut there.
        var at = url.IndexOf('@');
        var scheme = url.IndexOf("://", StringComparison.Ordinal);
        return scheme >= 0 && at > scheme ? url[..(scheme + 3)] + url[(at + 1)..] : url;
    }

    private static IEnumerable<ResourceDescriptor> LayerByproducts(IReadOnlyList<LayerProvenance> layers)
        => layers.Select(layer => new ResourceDescriptor
        {
            Name = $"layer: {layer.Description}",
            Digest = DigestMap(layer.BlobDigest),
            MediaType = layer.MediaType,
            Annotations = new SortedDictionary<string, JsonElement>(StringComparer.Ordinal)
            {
                ["diffId"] = JsonSerializer.SerializeToElement(layer.DiffId.ToString(), Context.String),
                ["files"] = JsonSerializer.SerializeToElement(layer.Files, Context.IReadOnlyListString),
            },
        });

    // A step names the layer it made by diff_id (the same whether it ran or came from a cache); a step that made no
    // layer has no digest.
    private static IEnumerable<ResourceDescriptor> StepByproducts(IReadOnlyList<StepProvenance> steps)
        => steps.Select(step => new ResourceDescriptor
        {
            Name = $"step: [{step.Stage}] {step.Instruction}",
            Digest = step.DiffId is { } diffId ? DigestMap(diffId) : null,
            Annotations = new SortedDictionary<string, JsonElement>(StringComparer.Ordinal)
            {
                ["stage"] = JsonSerializer.SerializeToElement(step.Stage, Context.String),
                ["line"] = JsonSerializer.SerializeToElement(step.Line.ToString(System.Globalization.CultureInfo.InvariantCulture), Context.String),
            },
        });
}
