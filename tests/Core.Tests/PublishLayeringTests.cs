using Sdk.Containers.Layers;
using Sdk.Containers.Publishing;

namespace Sdk.Containers.Tests;

public class PublishLayeringTests
{
    private const string DepsJson = """
        {
          "runtimeTarget": { "name": ".NETCoreApp,Version=v10.0/linux-x64" },
          "targets": {
            ".NETCoreApp,Version=v10.0/linux-x64": {
              "app/1.0.0": { "dependencies": {}, "runtime": { "app.dll": {} } },
              "Lib/1.0.0": { "runtime": { "Lib.dll": {} } },
              "Newtonsoft.Json/13.0.3": {
                "runtime": { "lib/net6.0/Newtonsoft.Json.dll": {} },
                "resources": { "lib/net6.0/de/Newtonsoft.Json.resources.dll": { "locale": "de" } }
              },
              "SQLite/1.0.0": { "runtimeTargets": { "runtimes/linux-x64/native/libsqlite.so": { "rid": "linux-x64", "assetType": "native" } } },
              "runtimepack.Microsoft.NETCore.App.Runtime.linux-x64/10.0.12": {
                "runtime": { "System.Private.CoreLib.dll": {} },
                "native": { "libcoreclr.so": {} }
              }
            }
          },
          "libraries": {
            "app/1.0.0": { "type": "project" },
            "Lib/1.0.0": { "type": "project" },
            "Newtonsoft.Json/13.0.3": { "type": "package" },
            "SQLite/1.0.0": { "type": "package" },
            "runtimepack.Microsoft.NETCore.App.Runtime.linux-x64/10.0.12": { "type": "runtimepack" }
          }
        }
        """;

    private static TempDirectory PublishFolder()
    {
        var dir = new TempDirectory();
        foreach (var file in new[] { "app.dll", "app", "Lib.dll", "appsettings.json", "wwwroot/index.html", "Newtonsoft.Json.dll", "de/Newtonsoft.Json.resources.dll", "runtimes/linux-x64/native/libsqlite.so", "System.Private.CoreLib.dll", "libcoreclr.so" })
        {
            dir.WriteFile("publish/" + file, file);
        }

        dir.WriteFile("publish/app.deps.json", DepsJson);
        return dir;
    }

    private static string[] Files(LayerPlan plan) => plan.Entries.Where(e => e.Kind == LayerEntryKind.File).Select(e => e.Path).ToArray();

    [Fact]
    public void LayersGoFromRuntimeToPackagesToApp()
    {
        using var dir = PublishFolder();
        var plans = PublishLayering.Plan(dir.Combine("publish"), "/app", "app", ContainerLayering.ByChangeRate, []).Select(l => l.Plan).ToArray();

        Assert.Equal([".NET runtime", "NuGet packages", "app app files"], plans.Select(p => p.Description));
        Assert.Equal(["app/System.Private.CoreLib.dll", "app/libcoreclr.so"], Files(plans[0]));
        Assert.Equal(["app/Newtonsoft.Json.dll", "app/de/Newtonsoft.Json.resources.dll", "app/runtimes/linux-x64/native/libsqlite.so"], Files(plans[1]));
        Assert.Contains("app/app.dll", Files(plans[2]));
        Assert.Contains("app/Lib.dll", Files(plans[2]));
        Assert.Contains("app/app.deps.json", Files(plans[2]));
        Assert.Contains("app/wwwroot/index.html", Files(plans[2]));
        var all = plans.SelectMany(Files).ToArray();
        Assert.Equal(all.Length, all.Distinct().Count());
        Assert.Equal(11, all.Length);
    }

    [Fact]
    public void SingleLayeringPutsEverythingInOneLayer()
    {
        using var dir = PublishFolder();
        var plan = Assert.Single(PublishLayering.Plan(dir.Combine("publish"), "/app", "app", ContainerLayering.Single, [])).Plan;
        Assert.Equal(11, Files(plan).Length);
    }

    [Fact]
    public void WithoutDepsJsonEverythingIsApp()
    {
        using var dir = PublishFolder();
        File.Delete(dir.Combine("publish", "app.deps.json"));
        Assert.Single(PublishLayering.Plan(dir.Combine("publish"), "/app", "app", ContainerLayering.ByChangeRate, []));
    }

    [Fact]
    public void ExtraLayersComeBeforeTheAppWithTheirModes()
    {
        using var dir = PublishFolder();
        dir.WriteFile("extra/conf/settings.ini", "x=1");
        var script = dir.WriteFile("extra/entry.sh", "#!/bin/sh");
        var plans = PublishLayering.Plan(dir.Combine("publish"), "/app", "app", ContainerLayering.ByChangeRate,
            [new ExtraLayer(dir.Combine("extra", "conf"), "/etc/myapp"), new ExtraLayer(script, "/usr/local/bin/", "0755")]).Select(l => l.Plan).ToArray();

        Assert.Equal(5, plans.Length);
        Assert.Equal(["etc/myapp/settings.ini"], Files(plans[2]));
        var entry = plans[3].Entries.Single(e => e.Kind == LayerEntryKind.File);
        Assert.Equal("usr/local/bin/entry.sh", entry.Path);
        Assert.Equal((UnixFileMode)0b111_101_101, entry.Mode);
        Assert.Equal("app app files", plans[4].Description);
    }

    [Fact]
    public void ABadModeNamesTheItem()
    {
        using var dir = PublishFolder();
        var file = dir.WriteFile("extra/x", "x");
        var ex = Assert.Throws<ContainerException>(() => PublishLayering.Plan(dir.Combine("publish"), "/app", "app", ContainerLayering.ByChangeRate, [new ExtraLayer(file, "/x", "rwx")]));
        Assert.Contains("Mode 'rwx'", ex.Message);
    }
}
