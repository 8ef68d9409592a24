using System.Text.Json;
using System.Text.Json.Serialization;
using Sdk.Containers.Layers;

namespace Sdk.Containers.Publishing;

/// <summary>
/// What the MSBuild task sends the publish worker (a NativeAOT process that does the image work without compiling
/// anything just in time): the request and the services' settings, as one line of JSON on its standard input.
/// </summary>
public sealed record PublishWorkerRequest(
    ContainerPublishRequest Request,
    string? CacheDirectory,
    IReadOnlyList<string> InsecureRegistries,
    long MaxChunkSize);

/// <summary>The outputs of one image the hosts expose (the SDK's Generated* task outputs).</summary>
public sealed record PublishedImage(
    string ManifestDigest,
    string ConfigDigest,
    string ConfigJson,
    string ManifestJson,
    string ManifestMediaType,
    string? ArchivePath,
    IReadOnlyList<string> RepoTags)
{
    public static PublishedImage From(ContainerPublishResult result) => new(
        result.Image.ManifestDigest.ToString(),
        result.Image.ConfigDigest.ToString(),
        result.ConfigJson,
        result.ManifestJson,
        result.Image.ManifestMediaType,
        result.ArchivePath,
        result.RepoTags);
}

public enum WorkerMessageKind
{
    Info,
    Detail,
    Warning,
    Error,
    Result,
}

/// <summary>One line the worker writes on its standard output: a log line, the error that ended it, or its result.</summary>
public sealed record PublishWorkerMessage(WorkerMessageKind Kind, string? Code = null, string? Text = null, PublishedImage? Result = null);

/// <summary>Reads and writes the worker's lines; one JSON document per line (JSON escapes every newline in strings).</summary>
public static class PublishWorkerJson
{
    public static string Serialize(PublishWorkerRequest request) => JsonSerializer.Serialize(request, PublishWorkerJsonContext.Default.PublishWorkerRequest);

    public static string Serialize(PublishWorkerMessage message) => JsonSerializer.Serialize(message, PublishWorkerJsonContext.Default.PublishWorkerMessage);

    public static PublishWorkerRequest ParseRequest(string line)
        => JsonSerializer.Deserialize(line, PublishWorkerJsonContext.Default.PublishWorkerRequest)
           ?? throw new ContainerException(ErrorCodes.Unexpected, "The publish worker was given an empty request.");

    /// <summary>Null for a line that is not a message (a runtime's own output, say), which the host logs as it is.</summary>
    public static PublishWorkerMessage? TryParseMessage(string line)
    {
        if (!line.StartsWith('{'))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(line, PublishWorkerJsonContext.Default.PublishWorkerMessage);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>The setting travels as it is written in a project ("gzip:2"), so both ends parse it one way.</summary>
internal sealed class LayerCompressionSettingJsonConverter : JsonConverter<LayerCompressionSetting>
{
    public override LayerCompressionSetting Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        => LayerCompressionSetting.Parse(reader.GetString());

    public override void Write(Utf8JsonWriter writer, LayerCompressionSetting value, JsonSerializerOptions options)
        => writer.WriteStringValue(value.ToString());
}

[JsonSourceGenerationOptions(
    UseStringEnumConverter = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    Converters = [typeof(LayerCompressionSettingJsonConverter)])]
[JsonSerializable(typeof(PublishWorkerRequest))]
[JsonSerializable(typeof(PublishWorkerMessage))]
internal sealed partial class PublishWorkerJsonContext : JsonSerializerContext;
