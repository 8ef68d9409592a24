namespace Sdk.Containers;

/// <summary>
/// What a host reports when a build fails: one error with its code and a message, and the stack, when there is one
/// worth keeping, for the detailed log only. The MSBuild task and the publish worker report failures alike.
/// </summary>
public sealed record BuildFailure(string Code, string Message, string? Detail)
{
    public static readonly BuildFailure Cancelled = new(ErrorCodes.Cancelled, "The container build was cancelled; no output was written.", null);

    public static BuildFailure From(Exception exception) => exception switch
    {
        ContainerException ex => new(ex.Code, ex.Message, ex.ToString()),
        OperationCanceledException => Cancelled,
        _ => new(ErrorCodes.Unexpected, $"The container build failed unexpectedly: {exception.GetType().Name}: {exception.Message}", exception.ToString()),
    };
}
