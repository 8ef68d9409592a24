using System.Net;

namespace Sdk.Containers.Integration;

/// <summary>An answer of <see cref="LocalHttpServer"/>.</summary>
public sealed record HttpAnswer(int Status, string ContentType, byte[] Body, Dictionary<string, string>? Headers = null);

/// <summary>
/// A small HTTP server on 127.0.0.1 and a free port that answers every request as told: for what no real server
/// here produces (a URL for ADD, hostile registry answers).
/// </summary>
public sealed class LocalHttpServer : IDisposable
{
    private readonly HttpListener _listener = new();

    private LocalHttpServer(Func<HttpListenerRequest, string, HttpAnswer> respond)
    {
        Host = $"127.0.0.1:{RegistryServer.FreePort()}";
        _listener.Prefixes.Add($"http://{Host}/");
        _listener.Start();
        _ = Task.Run(async () =>
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }

                var answer = respond(context.Request, Host);
                context.Response.StatusCode = answer.Status;
                context.Response.ContentType = answer.ContentType;
                foreach (var (name, value) in answer.Headers ?? [])
                {
                    context.Response.Headers[name] = value;
                }

                if (context.Request.HttpMethod != "HEAD")
                {
                    await context.Response.OutputStream.WriteAsync(answer.Body);
                }

                context.Response.Close();
            }
        });
    }

    /// <summary>host:port, for URLs and image references.</summary>
    public string Host { get; }

    /// <param name="respond">The answer to a request, given the request and this server's host.</param>
    public static LocalHttpServer Start(Func<HttpListenerRequest, string, HttpAnswer> respond) => new(respond);

    public void Dispose() => _listener.Close();
}
