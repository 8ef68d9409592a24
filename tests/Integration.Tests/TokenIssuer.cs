using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;

namespace Sdk.Containers.Integration;

/// <summary>
/// A token service for the registry's `auth: token` mode, written for the tests: it checks Basic credentials and signs
/// RS256 JWTs with a test key whose certificate the registry trusts (sent in the x5c header), granting what is asked.
/// </summary>
public sealed class TokenIssuer : IAsyncDisposable
{
    public const string Service = "sdkc-test-registry";
    public const string Issuer = "sdkc-test-issuer";

    private readonly RSA _key = RSA.Create(2048);
    private readonly X509Certificate2 _certificate;
    private readonly WebApplication _app;

    public TokenIssuer(string directory)
    {
        Directory.CreateDirectory(directory);
        var request = new CertificateRequest("CN=Sdk.Containers test token issuer", _key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        _certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        CertificateFile = Path.Combine(directory, "token-issuer.pem");
        File.WriteAllText(CertificateFile, _certificate.ExportCertificatePem());

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.MapGet("/token", Issue);
        _app.StartAsync().GetAwaiter().GetResult();
        Realm = _app.Urls.First() + "/token";
    }

    public string Realm { get; }

    public string CertificateFile { get; }

    public int Requests;

    private IResult Issue(HttpContext context)
    {
        Interlocked.Increment(ref Requests);
        var header = context.Request.Headers.Authorization.ToString();
        var expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{RegistryServer.User}:{RegistryServer.Password}"));
        if (header != expected)
        {
            return Results.Unauthorized();
        }

        var access = context.Request.Query["scope"]
            .SelectMany(s => (s ?? string.Empty).Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(s => s.Split(':'))
            .Where(p => p.Length == 3 && p[0] == "repository")
            .Select(p => new { type = "repository", name = p[1], actions = p[2].Split(',') })
            .ToArray();
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var headerJson = JsonSerializer.Serialize(new { typ = "JWT", alg = "RS256", x5c = new[] { Convert.ToBase64String(_certificate.RawData) } });
        var claims = JsonSerializer.Serialize(new { iss = Issuer, sub = RegistryServer.User, aud = Service, exp = now + 300, nbf = now - 10, iat = now, jti = Guid.NewGuid().ToString("N"), access });
        var unsigned = $"{Base64Url(Encoding.UTF8.GetBytes(headerJson))}.{Base64Url(Encoding.UTF8.GetBytes(claims))}";
        var signature = _key.SignData(Encoding.ASCII.GetBytes(unsigned), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var token = $"{unsigned}.{Base64Url(signature)}";
        return Results.Json(new Dictionary<string, object> { ["token"] = token, ["access_token"] = token, ["expires_in"] = 300 });
    }

    private static string Base64Url(byte[] data) => Convert.ToBase64String(data).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        _certificate.Dispose();
        _key.Dispose();
    }
}
