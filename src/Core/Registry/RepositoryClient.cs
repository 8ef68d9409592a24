namespace Sdk.Containers.Registry;

/// <summary>One repository of a registry, with the token scopes every request to it carries.</summary>
public sealed class RepositoryClient
{
    internal RepositoryClient(RegistryApi api, string repository, IReadOnlyList<string> scopes)
    {
        Api = api;
        Name = repository;
        Scopes = scopes;
        Blobs = new BlobClient(this);
        Manifests = new ManifestClient(this);
    }

    public string Name { get; }

    public string Registry => Api.Registry;

    public BlobClient Blobs { get; }

    public ManifestClient Manifests { get; }

    internal RegistryApi Api { get; }

    internal IReadOnlyList<string> Scopes { get; }

    /// <summary>registry/repository, as messages name it.</summary>
    public override string ToString() => $"{Api.Registry}/{Name}";

    internal Uri Address(string path) => Api.Address($"v2/{Name}/{path}");

    internal Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        => Api.SendAsync(request, Scopes, cancellationToken);
}
