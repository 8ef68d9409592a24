namespace Sdk.Containers.Progress;

/// <summary>
/// What a Dockerfile build reports about its steps, as buildx shows them. A step is named by its counter
/// (<c>[stage 2/5]</c>); a started step is followed by its output lines and then Done or Failed.
/// </summary>
public interface IBuildProgress
{
    void Started(string step, string command);

    /// <summary>The step's result came from the cache; nothing ran.</summary>
    void Cached(string step, string command);

    /// <summary>A line the step's command wrote.</summary>
    void Output(string step, string line);

    void Done(string step, TimeSpan elapsed);

    void Failed(string step);
}

/// <summary>Progress as plain lines in the build log (CI, redirected output, the MSBuild log).</summary>
public sealed class PlainBuildProgress(IBuildLog log) : IBuildProgress
{
    public void Started(string step, string command) => log.Info($"{step} {command}");

    public void Cached(string step, string command) => log.Info($"{step} CACHED {command}");

    public void Output(string step, string line) => log.Info($"{step} {line}");

    public void Done(string step, TimeSpan elapsed) => log.Info($"{step} DONE {elapsed.TotalSeconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture)}s");

    public void Failed(string step) => log.Info($"{step} ERROR");
}
