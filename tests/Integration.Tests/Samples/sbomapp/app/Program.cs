using Microsoft.Extensions.Logging;
using Serilog;

using var factory = LoggerFactory.Create(builder => builder.AddConsole());
factory.CreateLogger("app").LogInformation("{Json}", Newtonsoft.Json.JsonConvert.SerializeObject(new { Words = Lib.Words.Of(3) }));
new LoggerConfiguration().WriteTo.Console().CreateLogger().Information("done");
