namespace Sdk.Containers;

/// <summary>
/// An error the user can act on: it carries a stable code (CONTAINERxxxx, as the SDK's container support uses)
/// and a message that names the input at fault. Hosts print the message, never the stack.
/// </summary>
public class ContainerException : Exception
{
    public ContainerException(string code, string message, Exception? inner = null)
        : base(message, inner)
    {
        Code = code;
    }

    public string Code { get; }

    public override string ToString() => $"{Code}: {Message}";
}
