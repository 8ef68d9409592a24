using System.Globalization;
using Sdk.Containers.Images;

namespace Sdk.Containers.Layers;

/// <summary>
/// How layers are compressed: gzip (levels 1-9), zstd (levels 1-22) or not at all, written "gzip", "gzip:1", "zstd:3",
/// "none".
/// </summary>
public sealed record LayerCompressionSetting(LayerCompression Algorithm, int Level)
{
    /// <summary>
    /// gzip level 2, chosen from bench/LayerThroughput on 2 cores: 189 MB/s and 50.0 MB for 107 MB of the .NET runtime,
    /// where level 6 gives 130 MB/s and 47.4 MB (5% smaller, 45% slower).
    /// </summary>
    public const int DefaultGzipLevel = 2;

    public static readonly LayerCompressionSetting Default = new(LayerCompression.Gzip, DefaultGzipLevel);

    /// <summary>Plain tar layers, as `docker save` writes them: for an engine that unpacks them at once.</summary>
    public static readonly LayerCompressionSetting Uncompressed = new(LayerCompression.None, 0);

    public override string ToString() => Algorithm == LayerCompression.None ? "none" : $"{Algorithm.ToString().ToLowerInvariant()}:{Level}";

    public static LayerCompressionSetting Parse(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return Default;
        }

        var parts = value.Trim().ToLowerInvariant().Split(':');
        if (parts is ["none"])
        {
            return Uncompressed;
        }

        var algorithm = parts[0] switch
        {
            "gzip" => LayerCompression.Gzip,
            "zstd" => LayerCompression.Zstd,
            _ => throw Invalid(value),
        };
        var (min, max, fallback) = algorithm == LayerCompression.Gzip ? (1, 9, DefaultGzipLevel) : (1, 22, 3);
        if (parts.Length == 1)
        {
            return new LayerCompressionSetting(algorithm, fallback);
        }

        return parts.Length == 2 && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var level) && level >= min && level <= max
            ? new LayerCompressionSetting(algorithm, level)
            : throw Invalid(value);
    }

    private static ContainerException Invalid(string value)
        => new(ErrorCodes.InvalidCompression, $"ContainerLayerCompression is '{value}'; write gzip or zstd, optionally with a level (gzip:1 to gzip:9, zstd:1 to zstd:22), or none.");
}
