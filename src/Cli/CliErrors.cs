using Sdk.Containers;

namespace Sdk.Containers.Cli;

/// <summary>Prints a failure as one line with its code; stack traces only with SDK_CONTAINERS_DEBUG=1.</summary>
internal static class CliErrors
{
    public static async Task<int> RunAsync(Func<Task<int>> action)
    {
        try
        {
            return await action();
        }
        catch (Exception ex)
        {
            return Report(ex);
        }
    }

    public static int Report(Exception ex)
    {
        var line = ex switch
        {
            ContainerException container => $"error {container.Code}: {container.Message}",
            OperationCanceledException => "error: cancelled; nothing was written.",
            _ => $"error CONTAINER1001: the command failed unexpectedly: {ex.GetType().Name}: {ex.Message} (SDK_CONTAINERS_DEBUG=1 shows where)",
        };
        Console.Error.WriteLine(line);
        if (Environment.GetEnvironmentVariable("SDK_CONTAINERS_DEBUG") == "1")
        {
            Console.Error.WriteLine(ex);
        }

        return ex is ContainerException ? 1 : 70;
    }
}
