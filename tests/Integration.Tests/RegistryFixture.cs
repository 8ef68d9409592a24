namespace Sdk.Containers.Integration;

/// <summary>A plain-HTTP registry with the test base images, shared by the tests of a class.</summary>
public sealed class RegistryFixture : IDisposable
{
    private readonly Lazy<RegistryServer> _server;

    public RegistryFixture()
    {
        _server = new Lazy<RegistryServer>(() =>
        {
            var env = new TestEnvironment();
            var server = new RegistryServer(RegistryAuth.None);
            server.Seed($"oci:{env.BaseLayout}:runtime", "dotnet/runtime:10.0");
            server.Seed($"oci:{env.BaseLayout}:runtime-deps", "dotnet/runtime-deps:10.0");
            server.Seed($"oci:{env.BaseLayout}:aspnet", "dotnet/aspnet:10.0");
            server.Seed($"oci:{env.BaseLayout}:runtime-deps-multi", "dotnet/runtime-deps-multi:10.0");
            return server;
        });
    }

    /// <summary>Started on first use, after the test has checked the environment (so a missing tool fails clearly).</summary>
    public RegistryServer Server => _server.Value;

    public void Dispose()
    {
        if (_server.IsValueCreated)
        {
            _server.Value.Dispose();
        }
    }
}
