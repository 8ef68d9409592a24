var runtime = System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription;
Console.WriteLine($"Hello from Sdk.Containers! ({runtime}, {(args.Length == 0 ? "no args" : string.Join(' ', args))})");
