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
}
