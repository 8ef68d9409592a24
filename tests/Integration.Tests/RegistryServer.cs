using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Sdk.Containers.Integration;

public enum RegistryAuth
{
    None,
    BasicOverTls,
    Token,
}

/// <summary>
/// A real CNCF distribution registry (Debian's docker-registry) on 127.0.0.1 and a free port, with its own storage,
/// and optionally htpasswd auth behind TLS or token auth trusting <see cref="TokenIssuer"/>.
/// </summary>
public sealed class RegistryServer : IDisposable
{
    public const string User = "tester";
    public const string Password = "s3cr3t-Pa55word-never-logged";

    private readonly Process _process;
    private readonly TempDirectory _directory = new();

    public RegistryServer(RegistryAuth auth, TokenIssuer? issuer = null)
    {
        Auth = auth;
        Port = FreePort();
        Host = $"127.0.0.1:{Port}";
        var config = new List<string>
        {
            "version: 0.1",
            "log: {level: warn}",
            "storage:",
            $"  filesystem: {{rootdirectory: {_directory.Combine("storage")}}}",
            "  delete: {enabled: true}",
            "http:",
            $"  addr: {Host}",
            "  relativeurls: true",
        };
        if (auth == RegistryAuth.BasicOverTls)
        {
            Certificates = new TestCertificates(_directory.Combine("certs"));
            config.Add($"  tls: {{certificate: {Certificates.CertificateFile}, key: {Certificates.KeyFile}}}");
            var htpasswd = _directory.Combine("htpasswd");
            var hash = TestEnvironment.Run("htpasswd", ["-nbB", User, Password]).AssertSuccess().Output.Trim();
            File.WriteAllText(htpasswd, hash + "\n");
            config.Add("auth:");
            config.Add($"  htpasswd: {{realm: sdkc-test, path: {htpasswd}}}");
        }
        else if (auth == RegistryAuth.Token)
        {
            var tokens = issuer ?? throw new ArgumentNullException(nameof(issuer));
            config.Add("auth:");
            config.Add($"  token: {{realm: \"{tokens.Realm}\", service: {TokenIssuer.Service}, issuer: {TokenIssuer.Issuer}, rootcertbundle: {tokens.CertificateFile}}}");
        }

        var configFile = _directory.Combine("config.yml");
        File.WriteAllLines(configFile, config);
        var info = new ProcessStartInfo("/usr/bin/docker-registry", ["serve", configFile])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        _process = Process.Start(info)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (Log) { Log.Add(e.Data); } } };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        WaitUntilListening();
    }

    public RegistryAuth Auth { get; }

    public int Port { get; }

    /// <summary>host:port, as image references name it.</summary>
    public string Host { get; }

    public TestCertificates? Certificates { get; }

    public List<string> Log { get; } = [];

    public string StorageRoot => _directory.Combine("storage");

    /// <summary>skopeo's flags for this registry: no TLS verification (our CA is not the system's) and credentials.</summary>
    public string[] SkopeoFlags(string direction)
        => Auth == RegistryAuth.None
            ? [$"--{direction}-tls-verify=false"]
            : [$"--{direction}-tls-verify=false", $"--{direction}-creds={User}:{Password}"];

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private void WaitUntilListening()
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"docker-registry exited with {_process.ExitCode}:\n{string.Join('\n', Log)}");
            }

            try
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                Thread.Sleep(100);
            }
        }

        throw new TimeoutException($"docker-registry did not listen on {Host} within 30 s:\n{string.Join('\n', Log)}");
    }

    /// <summary>Puts a test base image into the registry with skopeo, an independent client.</summary>
    public void Seed(string source, string repositoryAndTag)
        => TestEnvironment.Run("/usr/bin/skopeo", ["copy", "--quiet", "--all", .. SkopeoFlags("dest"), source, $"docker://{Host}/{repositoryAndTag}"], timeout: TimeSpan.FromMinutes(3)).AssertSuccess();

    public void Dispose()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
        _directory.Dispose();
    }
}
