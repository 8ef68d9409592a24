using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Sdk.Containers.Digests;

namespace Sdk.Containers.Images;

[JsonSourceGenerationOptions(
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    WriteIndented = false,
    PropertyNameCaseInsensitive = false,
    AllowTrailingCommas = false,
    ReadCommentHandling = JsonCommentHandling.Disallow)]
[JsonSerializable(typeof(ImageConfig))]
[JsonSerializable(typeof(ImageManifest))]
[JsonSerializable(typeof(ImageIndex))]
[JsonSerializable(typeof(OciLayoutFile))]
[JsonSerializable(typeof(List<DockerArchiveManifestEntry>))]
[JsonSerializable(typeof(Dictionary<string, Dictionary<string, string>>))]
[JsonSerializable(typeof(JsonElement))]
internal sealed partial class ImageJsonContext : JsonSerializerContext
{
}

/// <summary>Reads and writes the image formats. Bytes are what digests are computed over, so writers return bytes.</summary>
public static class ImageJson
{
    // Go's encoding/json escapes <, > and & by default but registries and Docker accept either; relaxed escaping keeps
    // label values such as URLs readable and the bytes stable across runtimes.
    private static readonly JsonSerializerOptions Options = new(ImageJsonContext.Default.Options)
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private static readonly ImageJsonContext Context = new(Options);

    public static byte[] Serialize(ImageConfig value) => JsonSerializer.SerializeToUtf8Bytes(value, Context.ImageConfig);

    public static byte[] Serialize(ImageManifest value) => JsonSerializer.SerializeToUtf8Bytes(value, Context.ImageManifest);

    public static byte[] Serialize(ImageIndex value) => JsonSerializer.SerializeToUtf8Bytes(value, Context.ImageIndex);

    public static byte[] Serialize(OciLayoutFile value) => JsonSerializer.SerializeToUtf8Bytes(value, Context.OciLayoutFile);

    public static byte[] Serialize(List<DockerArchiveManifestEntry> value)
        => JsonSerializer.SerializeToUtf8Bytes(value, Context.ListDockerArchiveManifestEntry);

    public static ImageConfig ParseConfig(ReadOnlySpan<byte> json, string source) => Parse(json, Context.ImageConfig, source, "image config");

    public static ImageManifest ParseManifest(ReadOnlySpan<byte> json, string source) => Parse(json, Context.ImageManifest, source, "image manifest");

    public static ImageIndex ParseIndex(ReadOnlySpan<byte> json, string source) => Parse(json, Context.ImageIndex, source, "image index");

    public static List<DockerArchiveManifestEntry> ParseDockerArchiveManifest(ReadOnlySpan<byte> json, string source)
        => Parse(json, Context.ListDockerArchiveManifestEntry, source, "docker-archive manifest.json");

    public static Dictionary<string, Dictionary<string, string>> ParseRepositories(ReadOnlySpan<byte> json, string source)
        => Parse(json, Context.DictionaryStringDictionaryStringString, source, "docker-archive repositories file");

    public static JsonElement ParseElement(ReadOnlySpan<byte> json, string source) => Parse(json, Context.JsonElement, source, "JSON document");

    /// <summary>The <c>mediaType</c> field of a manifest or index, without committing to either shape.</summary>
    public static string? PeekMediaType(ReadOnlySpan<byte> json, string source)
    {
        var element = ParseElement(json, source);
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw Invalid(source, "manifest", "it is not a JSON object");
        }

        if (element.TryGetProperty("mediaType", out var mediaType) && mediaType.ValueKind == JsonValueKind.String)
        {
            return mediaType.GetString();
        }

        // OCI allows the field to be left out; the presence of "manifests" or "config" tells index from manifest.
        return element.TryGetProperty("manifests", out _) ? MediaTypes.OciIndex
            : element.TryGetProperty("config", out _) ? MediaTypes.OciManifest
            : null;
    }

    private static T Parse<T>(ReadOnlySpan<byte> json, JsonTypeInfo<T> typeInfo, string source, string what)
    {
        try
        {
            return JsonSerializer.Deserialize(json, typeInfo) ?? throw Invalid(source, what, "it is the JSON literal null");
        }
        catch (JsonException ex)
        {
            var where = ex.LineNumber is { } line ? $" (line {line + 1}, byte {ex.BytePositionInLine + 1})" : string.Empty;
            throw Invalid(source, what, $"it is not valid{where}: {FirstSentence(ex.Message)}");
        }
    }

    private static ContainerException Invalid(string source, string what, string why)
        => new(ErrorCodes.ArchiveCorrupt, $"The {what} in {source} cannot be read: {why}.");

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(". Path:", StringComparison.Ordinal);
        return (end > 0 ? message[..end] : message).TrimEnd('.');
    }
}

internal sealed class DigestJsonConverter : JsonConverter<Digest>
{
    public override Digest Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var text = reader.GetString();
        return Digest.TryParse(text, out var digest, out var error) ? digest : throw new JsonException(error);
    }

    public override void Write(Utf8JsonWriter writer, Digest value, JsonSerializerOptions options) => writer.WriteStringValue(value.ToString());
}

internal sealed class DigestListJsonConverter : JsonConverter<IReadOnlyList<Digest>>
{
    public override IReadOnlyList<Digest> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new JsonException("diff_ids must be an array of digests");
        }

        var list = new List<Digest>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            var text = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            list.Add(Digest.TryParse(text, out var digest, out var error) ? digest : throw new JsonException(error));
        }

        return list;
    }

    public override void Write(Utf8JsonWriter writer, IReadOnlyList<Digest> value, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        foreach (var digest in value)
        {
            writer.WriteStringValue(digest.ToString());
        }

        writer.WriteEndArray();
    }
}

/// <summary>
/// Writes a string map with keys in ordinal order, as Go's encoding/json does, so the bytes (and the digest) do not
/// depend on the order in which labels or annotations were added.
/// </summary>
internal sealed class SortedStringMapConverter : JsonConverter<IReadOnlyDictionary<string, string>>
{
    public override IReadOnlyDictionary<string, string> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("expected an object of strings");
        }

        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var key = reader.GetString()!;
            reader.Read();
            map[key] = reader.TokenType == JsonTokenType.String ? reader.GetString()! : throw new JsonException($"the value of '{key}' must be a string");
        }

        return map;
    }

    public override void Write(Utf8JsonWriter writer, IReadOnlyDictionary<string, string> value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        foreach (var key in value.Keys.Order(StringComparer.Ordinal))
        {
            writer.WriteString(key, value[key]);
        }

        writer.WriteEndObject();
    }
}

/// <summary>ExposedPorts and Volumes are Go map[string]struct{}: a set written as an object of empty objects.</summary>
internal sealed class EmptyObjectSetConverter : JsonConverter<IReadOnlyCollection<string>>
{
    public override IReadOnlyCollection<string> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("expected an object whose values are {}");
        }

        var set = new SortedSet<string>(StringComparer.Ordinal);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            set.Add(reader.GetString()!);
            reader.Read();
            reader.Skip();
        }

        return set;
    }

    public override void Write(Utf8JsonWriter writer, IReadOnlyCollection<string> value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        foreach (var key in value.Order(StringComparer.Ordinal))
        {
            writer.WritePropertyName(key);
            writer.WriteStartObject();
            writer.WriteEndObject();
        }

        writer.WriteEndObject();
    }
}
