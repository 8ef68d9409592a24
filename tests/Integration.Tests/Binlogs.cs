using Microsoft.Build.Logging.StructuredLogger;

namespace Sdk.Containers.Integration;

/// <summary>Reads a binlog with MSBuild.StructuredLogger to see which tasks and targets ran.</summary>
public static class Binlogs
{
    public static IReadOnlyList<string> TaskNames(string binlog)
    {
        var build = BinaryLog.ReadBuild(binlog);
        var names = new List<string>();
        build.VisitAllChildren<Microsoft.Build.Logging.StructuredLogger.Task>(t => names.Add(t.Name));
        return names;
    }

    public static IReadOnlyList<string> TargetNames(string binlog)
    {
        var build = BinaryLog.ReadBuild(binlog);
        var names = new List<string>();
        build.VisitAllChildren<Target>(t => names.Add(t.Name));
        return names;
    }

    /// <summary>Every message, warning and error text of the build, low importance included.</summary>
    public static IReadOnlyList<string> Messages(string binlog)
    {
        var build = BinaryLog.ReadBuild(binlog);
        var texts = new List<string>();
        build.VisitAllChildren<AbstractDiagnostic>(d => texts.Add($"{d.Code}: {d.Text}"));
        build.VisitAllChildren<Message>(m => texts.Add(m.Text));
        return texts;
    }
}
