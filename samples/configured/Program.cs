Console.WriteLine($"configured: {string.Join(' ', args)} GREETING={Environment.GetEnvironmentVariable("GREETING")}");
