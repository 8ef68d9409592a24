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

/// <summary>Error codes; the SDK's own numbers are reused where the SDK has the same error.</summary>
public static class ErrorCodes
{
    public const string InvalidImageReference = "CONTAINER2012";
    public const string InvalidImageSource = "CONTAINER1010";
    public const string ArchiveCorrupt = "CONTAINER1011";
    public const string DigestMismatch = "CONTAINER1012";
    public const string UnsafeLayerEntry = "CONTAINER1013";
    public const string PublishDirectoryMissing = "CONTAINER1014";
    public const string InvalidOutput = "CONTAINER1015";
    public const string InvalidRepository = "CONTAINER2005";
    public const string InvalidTag = "CONTAINER2007";
    public const string InvalidPort = "CONTAINER2010";
    public const string InvalidLabel = "CONTAINER2011";
    public const string InvalidEnvironmentVariable = "CONTAINER2015";
    public const string UnsupportedMediaType = "CONTAINER2001";
    public const string PlatformNotFound = "CONTAINER2009";
    public const string CredentialsUnavailable = "CONTAINER1020";
    public const string Unauthorized = "CONTAINER1021";
    public const string RegistryUnreachable = "CONTAINER1022";
    public const string RegistryError = "CONTAINER1023";
    public const string ImageNotFound = "CONTAINER1024";
    public const string CredentialsInBinlog = "CONTAINER1025";
}
