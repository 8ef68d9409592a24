using System.Collections.Concurrent;

namespace Sdk.Containers.Integration;

/// <summary>A build log that keeps every line (warnings as "CODE: message"); safe for the parallel work of a build.</summary>
internal sealed class RecordingLog : IBuildLog
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyList<string> Lines => [.. _lines];

    public void Info(string message) => _lines.Enqueue(message);

    public void Detail(string message) => _lines.Enqueue(message);

    public void Warning(string code, string message) => _lines.Enqueue($"{code}: {message}");
}
