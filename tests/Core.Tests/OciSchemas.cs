using NJsonSchema;

namespace Sdk.Containers.Tests;

/// <summary>The OCI image-spec's own JSON schemas (../shared/conformance/oci-image-spec/schema), used as they are.</summary>
public static class OciSchemas
{
    private static readonly Lazy<Task<JsonSchema>> Config = Load("config-schema.json");
    private static readonly Lazy<Task<JsonSchema>> Manifest = Load("image-manifest-schema.json");
    private static readonly Lazy<Task<JsonSchema>> Index = Load("image-index-schema.json");
    private static readonly Lazy<Task<JsonSchema>> Layout = Load("image-layout-schema.json");

    public static Task AssertValidConfigAsync(string json) => AssertValidAsync(Config, json, "config");

    public static Task AssertValidManifestAsync(string json) => AssertValidAsync(Manifest, json, "manifest");

    public static Task AssertValidIndexAsync(string json) => AssertValidAsync(Index, json, "index");

    public static Task AssertValidLayoutAsync(string json) => AssertValidAsync(Layout, json, "oci-layout");

    private static Lazy<Task<JsonSchema>> Load(string file)
        => new(() => JsonSchema.FromFileAsync(Path.Combine(RepoPaths.Shared, "conformance", "oci-image-spec", "schema", file)));

    private static async Task AssertValidAsync(Lazy<Task<JsonSchema>> schema, string json, string what)
    {
        var errors = (await schema.Value).Validate(json);
        Assert.True(errors.Count == 0, $"The {what} does not validate against the OCI schema: {string.Join("; ", errors.Select(e => $"{e.Path}: {e.Kind}"))}\n{json}");
    }
}
