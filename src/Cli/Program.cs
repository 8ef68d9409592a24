using System.CommandLine;
using Sdk.Containers.Cli;

var root = new RootCommand("Build, push, copy, inspect and verify container images without a Docker daemon.")
{
    BuildCommand.Create(),
    VerifyCommand.Create(),
    RegistryCommands.Pull(),
    RegistryCommands.Push(),
    RegistryCommands.Copy(),
    RegistryCommands.Inspect(),
};

return await CliErrors.RunAsync(() => root.Parse(args).InvokeAsync());
