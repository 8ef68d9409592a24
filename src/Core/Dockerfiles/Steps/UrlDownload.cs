using System.Security.Cryptography;

namespace Sdk.Containers.Dockerfiles;

/// <summary>The file of an ADD of a URL, fetched into the build's workspace.</summary>
internal static class UrlDownload
{
    private static readonly HttpClient Downloads = new(new SocketsHttpHandler { UseProxy = true, AllowAutoRedirect = true, MaxAutomaticRedirections = 10 }) { Timeout = TimeSpan.FromMinutes(10) };

    /// <summary>ADD of a URL: the file is fetched (checked against --checksum when given) and added with mode 0600, as Docker does.</summary>
    public static async Task<SourceTree> FetchAsync(BuildInputs inputs, BuildServices services, DockerfileNode instruction, string url, string? checksum, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            throw inputs.Error(instruction, $"'{url}' is not a valid URL.", url);
        }

        var fileName = Path.GetFileName(uri.AbsolutePath.TrimEnd('/'));
        if (string.IsNullOrEmpty(fileName))
        {
            fileName = "index.html";
        }

        var directory = Directory.CreateDirectory(Path.Combine(services.Work, "download-" + Guid.NewGuid().ToString("N")[..12])).FullName;
        var path = Path.Combine(directory, fileName);
        services.Log.Info($"Downloading {uri.GetLeftPart(UriPartial.Path)}");
        try
        {
            using var response = await Downloads.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw inputs.Error(instruction, $"ADD could not download {uri.GetLeftPart(UriPartial.Path)}: the server answered {(int)response.StatusCode} {response.ReasonPhrase}.", url);
            }

            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using var file = File.Create(path);
            await body.CopyToAsync(file, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw inputs.Error(instruction, $"ADD could not download {uri.GetLeftPart(UriPartial.Path)}: {ex.Message}", url);
        }

        if (checksum is not null)
        {
            if (!checksum.StartsWith("sha256:", StringComparison.Ordinal))
            {
                throw inputs.Error(instruction, $"--checksum={checksum} is not supported; write --checksum=sha256:<64 hex digits>.", "--checksum");
            }

            await using var file = File.OpenRead(path);
            var actual = "sha256:" + Convert.ToHexStringLower(await SHA256.HashDataAsync(file, cancellationToken).ConfigureAwait(false));
            if (!string.Equals(actual, checksum, StringComparison.OrdinalIgnoreCase))
            {
                throw inputs.Error(instruction, $"the file downloaded from {uri.GetLeftPart(UriPartial.Path)} has the digest {actual}, not the {checksum} that --checksum expects; nothing was added.", "--checksum");
            }
        }

        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        return new SourceTree(directory, DockerIgnore.Empty, uri.GetLeftPart(UriPartial.Path), isContext: true);
    }
}
