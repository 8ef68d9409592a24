using NJsonSchema;

namespace Sdk.Containers.Tests;

/// <summary>The SPDX 2.3 and CycloneDX 1.6 JSON schemas (../shared/conformance/sbom), used as they are.</summary>
public static class SbomSchemas
{
    private static readonly Lazy<Task<JsonSchema>> Spdx = Load("spdx-2.3.schema.json");
    private static readonly Lazy<Task<JsonSchema>> CycloneDx = Load("bom-1.6.schema.json");

    public static Task AssertValidSpdxAsync(string json) => AssertValidAsync(Spdx, json, "SPDX 2.3");

    public static Task AssertValidCycloneDxAsync(string json) => AssertValidAsync(CycloneDx, json, "CycloneDX 1.6");

    // The CycloneDX schema refers to spdx.schema.json and jsf-0.82.schema.json beside it, by relative path.
    private static Lazy<Task<JsonSchema>> Load(string file)
        => new(() => JsonSchema.FromFileAsync(Path.Combine(RepoPaths.Shared, "conformance", "sbom", file)));

    private static async Task AssertValidAsync(Lazy<Task<JsonSchema>> schema, string json, string what)
    {
        var errors = (await schema.Value).Validate(json);
        Assert.True(errors.Count == 0, $"The document does not validate against the {what} schema: {string.Join("; ", errors.Select(e => $"{e.Path}: {e.Kind}"))}\n{json}");
    }
}
