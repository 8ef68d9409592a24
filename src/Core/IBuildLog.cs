namespace Sdk.Containers;

/// <summary>Where the core reports progress; MSBuild tasks and the CLI each adapt it to their own output.</summary>
public interface IBuildLog
{
    /// <summary>A line shown at normal verbosity.</summary>
    void Info(string message);

    /// <summary>A line shown at detailed verbosity.</summary>
    void Detail(string message);

    void Warning(string code, string message);
}

public sealed class NullBuildLog : IBuildLog
{
    public static readonly NullBuildLog Instance = new();

    public void Info(string message)
    {
    }

    public void Detail(string message)
    {
    }

    public void Warning(string code, string message)
    {
    }
}
