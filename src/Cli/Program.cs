using System.CommandLine;
using Sdk.Containers.Cli;

var root = new RootCommand("Build, inspect and verify container images without a Docker daemon.")
{
    VerifyCommand.Create(),
};

return await CliErrors.RunAsync(() => root.Parse(args).InvokeAsync());
