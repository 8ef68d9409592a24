using Microsoft.Build.Framework;
using Sdk.Containers.Publishing;

namespace Sdk.Containers.Tasks;

/// <summary>Picks the SDK's default base image when ContainerBaseImage is not set (see <see cref="DefaultBaseImage"/>).</summary>
public sealed class ComputeContainerBaseImage : Microsoft.Build.Utilities.Task
{
    public string UserBaseImage { get; set; } = string.Empty;

    [Required]
    public string TargetFrameworkVersion { get; set; } = string.Empty;

    public string SdkVersion { get; set; } = string.Empty;

    [Required]
    public string ContainerRuntimeIdentifier { get; set; } = string.Empty;

    public bool SelfContained { get; set; }

    public bool PublishAot { get; set; }

    public bool PublishTrimmed { get; set; }

    public bool InvariantGlobalization { get; set; }

    public ITaskItem[] FrameworkReferences { get; set; } = [];

    public string ContainerFamily { get; set; } = string.Empty;

    [Output]
    public string ComputedBaseImage { get; private set; } = string.Empty;

    public override bool Execute() => TaskErrors.Run(Log, BuildEngine, () =>
    {
        ComputedBaseImage = !string.IsNullOrWhiteSpace(UserBaseImage)
            ? UserBaseImage.Trim()
            : DefaultBaseImage.Compute(
                TargetFrameworkVersion,
                SdkVersion,
                ContainerRuntimeIdentifier,
                SelfContained,
                PublishAot,
                PublishTrimmed,
                InvariantGlobalization,
                FrameworkReferences.Any(r => r.ItemSpec.Equals("Microsoft.AspNetCore.App", StringComparison.OrdinalIgnoreCase)),
                ContainerFamily);
    });
}
