using Sdk.Containers.Registry;

namespace Sdk.Containers.Tests;

/// <summary>The services a test's host would make once: a blob store of the test's own, default registry options.</summary>
internal static class TestServices
{
    public static ImageServices For(string cacheDirectory, IBuildLog? log = null, RegistryOptions? registryOptions = null)
        => ImageServices.Create(cacheDirectory, registryOptions ?? new RegistryOptions(), log ?? NullBuildLog.Instance);
}
