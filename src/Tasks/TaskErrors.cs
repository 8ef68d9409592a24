using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace Sdk.Containers.Tasks;

/// <summary>Turns failures into one MSBuild error with a code; a stack trace goes only to the low-importance log.</summary>
internal static class TaskErrors
{
    public static bool Run(TaskLoggingHelper log, IBuildEngine engine, Action action)
    {
        // What a cold process pays before it works: the methods compiled just in time during the task (process-wide,
        // so an MSBuild node's own JIT on other threads is counted too), for benchmarks that ask where time goes.
        var (jitted, jitTime) = (System.Runtime.JitInfo.GetCompiledMethodCount(), System.Runtime.JitInfo.GetCompilationTime());
        try
        {
            action();
            log.LogMessage(MessageImportance.Low, $"JIT during the task: {System.Runtime.JitInfo.GetCompiledMethodCount() - jitted} methods, {(System.Runtime.JitInfo.GetCompilationTime() - jitTime).TotalMilliseconds:F0} ms");
            return !log.HasLoggedErrors;
        }
        catch (Exception ex)
        {
            var failure = BuildFailure.From(ex);
            LogError(log, engine, failure.Code, failure.Message);
            if (failure.Detail is { } detail)
            {
                log.LogMessage(MessageImportance.Low, detail);
            }
        }

        return false;
    }

    public static void LogError(TaskLoggingHelper log, IBuildEngine engine, string code, string message)
        => log.LogError(null, code, null, engine.ProjectFileOfTaskNode, engine.LineNumberOfTaskNode, engine.ColumnNumberOfTaskNode, 0, 0, message);
}

internal sealed class MSBuildLog(TaskLoggingHelper log) : IBuildLog
{
    public void Info(string message) => log.LogMessage(MessageImportance.High, message);

    public void Detail(string message) => log.LogMessage(MessageImportance.Low, message);

    public void Warning(string code, string message) => log.LogWarning(null, code, null, null, 0, 0, 0, 0, message);
}
