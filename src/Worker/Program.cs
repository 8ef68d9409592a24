using System.Runtime.InteropServices;
using Sdk.Containers;
using Sdk.Containers.Publishing;
using Sdk.Containers.Registry;

// One request on the first line of standard input; log lines, then an error or the result, on standard output. The
// end of standard input (the task cancelled, or MSBuild gone), SIGTERM and SIGINT cancel the build.
var output = new WorkerOutput(Console.Out);
// Never disposed: the input thread may cancel it as the process ends.
var cancellation = new CancellationTokenSource();

// Ctrl+C reaches the whole process group, the worker too: it stops as a cancel does, removing what it began.
var signals = new[] { PosixSignal.SIGTERM, PosixSignal.SIGINT, PosixSignal.SIGQUIT }.Select(signal => PosixSignalRegistration.Create(signal, context =>
{
    context.Cancel = true;
    cancellation.Cancel();
})).ToArray();

var line = Console.In.ReadLine();

// A thread of its own: reads block, and on 2 cores a blocked pool thread halves the pool until it grows.
new Thread(() =>
{
    while (Console.In.ReadLine() is not null)
    {
    }

    cancellation.Cancel();
})
{ IsBackground = true, Name = "cancel on end of input" }.Start();

try
{
    var work = PublishWorkerJson.ParseRequest(line ?? string.Empty);
    PublishedImage image;
    using (var services = ImageServices.Create(work.CacheDirectory, new RegistryOptions
    {
        InsecureRegistries = work.InsecureRegistries.ToArray(),
        MaxChunkSize = work.MaxChunkSize,
    }, output))
    {
        var result = await new ContainerPublisher(services).PublishAsync(work.Request, cancellation.Token).ConfigureAwait(false);
        image = PublishedImage.From(result);
    }

    output.Write(new PublishWorkerMessage(WorkerMessageKind.Result, Result: image));
    GC.KeepAlive(signals);
    return 0;
}
catch (Exception ex)
{
    // As the task reports a failure of its own: one error with its code; the stack, if any, at detailed verbosity.
    var failure = BuildFailure.From(ex);
    output.Write(new PublishWorkerMessage(WorkerMessageKind.Error, failure.Code, failure.Message));
    if (failure.Detail is { } detail)
    {
        output.Detail(detail);
    }
}

GC.KeepAlive(signals);
return 1;

/// <summary>The build's log as worker messages, one line each; lines from several threads never interleave.</summary>
internal sealed class WorkerOutput(TextWriter writer) : IBuildLog
{
    private readonly Lock gate = new();

    public void Info(string message) => Write(new PublishWorkerMessage(WorkerMessageKind.Info, Text: message));

    public void Detail(string message) => Write(new PublishWorkerMessage(WorkerMessageKind.Detail, Text: message));

    public void Warning(string code, string message) => Write(new PublishWorkerMessage(WorkerMessageKind.Warning, code, message));

    public void Write(PublishWorkerMessage message)
    {
        var json = PublishWorkerJson.Serialize(message);
        lock (gate)
        {
            writer.WriteLine(json);
            writer.Flush();
        }
    }
}
