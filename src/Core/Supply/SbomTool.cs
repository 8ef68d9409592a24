using System.Reflection;

namespace Sdk.Containers.Supply;

/// <summary>Who wrote the document: this assembly and its informational version (fixed within a build of ours).</summary>
internal static class SbomTool
{
    public const string Name = "Sdk.Containers";

    public static string Version { get; } = typeof(SbomTool).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(SbomTool).Assembly.GetName().Version?.ToString() ?? "0.0.0";

    /// <summary>As SPDX's creators and annotators write a tool.</summary>
    public static string SpdxCreator => $"Tool: {Name}-{Version}";

    public static string Timestamp(DateTimeOffset time)
        => time.ToUniversalTime().ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
}
