using Sdk.Containers.References;

namespace Sdk.Containers.Publishing;

/// <summary>
/// The base image the SDK picks when ContainerBaseImage is not set: runtime-deps for self-contained and AOT apps,
/// aspnet for apps that reference ASP.NET Core, runtime otherwise; tagged with the target framework version, -preview
/// for a preview SDK building a preview framework, and a family: ContainerFamily, alpine for musl runtime identifiers,
/// or Ubuntu chiseled (with -extra for ICU and time zones) for trimmed and AOT apps.
/// </summary>
public static class DefaultBaseImage
{
    public const string Registry = "mcr.microsoft.com";

    public static string Compute(
        string targetFrameworkVersion,
        string? sdkVersion,
        string runtimeIdentifier,
        bool selfContained,
        bool aot,
        bool trimmed,
        bool invariantGlobalization,
        bool referencesAspNetCore,
        string? family)
    {
        var repository = selfContained || aot ? "dotnet/runtime-deps" : referencesAspNetCore ? "dotnet/aspnet" : "dotnet/runtime";
        var version = targetFrameworkVersion.TrimStart('v');
        var parts = version.Split('.');
        var tag = parts.Length >= 2 ? $"{parts[0]}.{parts[1]}" : version;
        if (sdkVersion is not null && sdkVersion.Contains("-preview", StringComparison.OrdinalIgnoreCase) && int.TryParse(parts[0], out var major)
            && sdkVersion.StartsWith($"{major}.", StringComparison.Ordinal))
        {
            tag += "-preview";
        }

        if (!string.IsNullOrWhiteSpace(family))
        {
            var trimmedFamily = family.Trim();
            ImageReference.ValidateTag($"{tag}-{trimmedFamily}", $"tag made from ContainerFamily '{trimmedFamily}'");
            tag += "-" + trimmedFamily;
        }
        else if (runtimeIdentifier.Contains("-musl", StringComparison.Ordinal))
        {
            tag += "-alpine";
        }
        else if ((aot || trimmed) && selfContained)
        {
            tag += invariantGlobalization ? "-noble-chiseled" : "-noble-chiseled-extra";
        }

        return $"{Registry}/{repository}:{tag}";
    }
}
