using System.Text.Json.Serialization;

namespace Sdk.Containers.Images;

public sealed record Platform
{
    // Not required when reading: some writers (the SDK's archives) put an incomplete platform in index.json.
    [JsonPropertyName("architecture")]
    public string Architecture { get; init; } = string.Empty;

    [JsonPropertyName("os")]
    public string Os { get; init; } = string.Empty;

    /// <summary>Both os and architecture are known.</summary>
    [JsonIgnore]
    public bool IsComplete => Os.Length > 0 && Architecture.Length > 0;

    [JsonPropertyName("os.version")]
    public string? OsVersion { get; init; }

    [JsonPropertyName("os.features")]
    public IReadOnlyList<string>? OsFeatures { get; init; }

    [JsonPropertyName("variant")]
    public string? Variant { get; init; }

    public override string ToString() => Variant is null ? $"{Os}/{Architecture}" : $"{Os}/{Architecture}/{Variant}";

    /// <summary>Maps a .NET runtime identifier (linux-x64, linux-musl-arm64, ...) to the platform of its images.</summary>
    public static Platform FromRuntimeIdentifier(string rid)
    {
        var dash = rid.LastIndexOf('-');
        if (dash <= 0)
        {
            throw new ContainerException(ErrorCodes.PlatformNotFound, $"'{rid}' is not a runtime identifier such as linux-x64 or linux-arm64.");
        }

        var os = rid[..dash].StartsWith("linux", StringComparison.Ordinal) ? "linux"
            : rid[..dash].StartsWith("win", StringComparison.Ordinal) ? "windows"
            : throw new ContainerException(ErrorCodes.PlatformNotFound, $"Runtime identifier '{rid}' is not a Linux or Windows one; container images need one of those.");
        return rid[(dash + 1)..] switch
        {
            "x64" => new Platform { Os = os, Architecture = "amd64" },
            "arm64" => new Platform { Os = os, Architecture = "arm64", Variant = os == "linux" ? "v8" : null },
            "arm" => new Platform { Os = os, Architecture = "arm", Variant = "v7" },
            "x86" => new Platform { Os = os, Architecture = "386" },
            "s390x" => new Platform { Os = os, Architecture = "s390x" },
            "ppc64le" => new Platform { Os = os, Architecture = "ppc64le" },
            "riscv64" => new Platform { Os = os, Architecture = "riscv64" },
            "loongarch64" => new Platform { Os = os, Architecture = "loong64" },
            var arch => throw new ContainerException(ErrorCodes.PlatformNotFound, $"Runtime identifier '{rid}' names architecture '{arch}', which has no container platform."),
        };
    }

    /// <summary>Parses "os/arch[/variant]" (linux/amd64, linux/arm64/v8) or a runtime identifier (linux-x64).</summary>
    public static Platform Parse(string value)
    {
        var parts = value.Trim().Split('/');
        if (parts.Length is 2 or 3 && parts.All(p => p.Length > 0))
        {
            return new Platform { Os = parts[0], Architecture = parts[1], Variant = parts.Length == 3 ? parts[2] : null };
        }

        return value.Contains('-') ? FromRuntimeIdentifier(value.Trim())
            : throw new ContainerException(ErrorCodes.PlatformNotFound, $"'{value}' is not a platform; write os/arch[/variant] such as linux/amd64, or a runtime identifier such as linux-x64.");
    }

    /// <summary>Whether an image of platform <paramref name="candidate"/> runs where this platform is asked for.</summary>
    public bool Accepts(Platform candidate)
    {
        if (candidate.Os != Os || candidate.Architecture != Architecture)
        {
            return false;
        }

        // arm64 images commonly leave the variant out; v8 is the only one there is.
        return Variant is null || candidate.Variant is null || candidate.Variant == Variant;
    }
}
