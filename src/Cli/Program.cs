using System.CommandLine;
using System.Runtime.InteropServices;
using Sdk.Containers.Cli;

var root = new RootCommand("Build, push, copy, inspect and verify container images without a Docker daemon.")
{
    BuildCommand.Create(),
    VerifyCommand.Create(),
    RegistryCommands.Pull(),
    RegistryCommands.Push(),
    RegistryCommands.Copy(),
    RegistryCommands.Inspect(),
    PruneCommand.Create(),
};

// SIGINT and SIGTERM cancel the command, which stops a running RUN's container, unmounts, removes what the build
// made and says so; the process is not killed under it (System.CommandLine's own handling would after a timeout).
using var cancellation = new CancellationTokenSource();
string? signal = null;
void Stop(PosixSignalContext context)
{
    // A second signal is let through: if the clean-up hangs, the user can still stop the process.
    context.Cancel = signal is null;
    if (signal is null)
    {
        signal = context.Signal == PosixSignal.SIGINT ? "SIGINT" : "SIGTERM";
        Console.Error.WriteLine($"{signal}: stopping; cleaning up what this command started.");
        cancellation.Cancel();
    }
}

using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
var exit = await CliErrors.RunAsync(() => root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }, cancellation.Token));
return signal switch
{
    "SIGINT" => 130,
    "SIGTERM" => 143,
    _ => exit,
};
