using System.Formats.Tar;
using Sdk.Containers.Archives;
using Sdk.Containers.Building;
using Sdk.Containers.Dockerfiles;
using Sdk.Containers.Images;
using Sdk.Containers.Layers;
using Sdk.Containers.Publishing;
using Sdk.Containers.Storage;

namespace Sdk.Containers.Tests;

/// <summary>
/// ContainerAppFilesOwner, a ContainerLayer item's Owner and ContainerWorkingDirectoryWritable: owners by number or by
/// the base's names, in the tar headers of the layers a publish writes, with the base's own directories kept.
/// </summary>
public sealed class FileOwnershipTests
{
    private const string Passwd = "root:x:0:0:root:/root:/bin/sh\r\n# a comment\napp:x:1654:1654:app:/home/app:/bin/sh\nweb:x:1700:1700::/srv/web:/bin/sh\n";
    private const string Group = "root:x:0:\nstaff:x:50:app\napp:x:1654:\n";
    private const string BaseName = "oci:/layouts/base:runtime";

    private static UnixFileMode Mode(string octal) => (UnixFileMode)Convert.ToInt32(octal, 8);

    private static (int, int) Resolve(string spec) => FileOwner.Parse(spec, "ContainerAppFilesOwner")!.Resolve(UserDatabase.Parse(Passwd, Group), BaseName);

    [Theory]
    [InlineData("app", 1654, 1654)]
    [InlineData("app:staff", 1654, 50)]
    [InlineData("web:0", 1700, 0)]
    [InlineData("1000", 1000, 1000)]
    [InlineData("1000:50", 1000, 50)]
    [InlineData(" root ", 0, 0)]
    public void OwnersResolveByNumberOrThroughTheBasesPasswdAndGroup(string spec, int uid, int gid)
        => Assert.Equal((uid, gid), Resolve(spec));

    [Fact]
    public void NumbersNeedNoBaseAndNamesDo()
    {
        Assert.False(FileOwner.Parse("1654:50", "ContainerAppFilesOwner")!.NeedsNames);
        Assert.True(FileOwner.Parse("1654:staff", "ContainerAppFilesOwner")!.NeedsNames);
        Assert.Equal((1654, 50), FileOwner.Parse("1654:50", "ContainerAppFilesOwner")!.Resolve(UserDatabase.Empty, BaseName));
        Assert.Null(FileOwner.Parse("  ", "ContainerAppFilesOwner"));
    }

    [Theory]
    [InlineData("nobody", "defines no user 'nobody' in its /etc/passwd", "a user the base defines (root, app, web)")]
    [InlineData("app:wheel", "defines no group 'wheel' in its /etc/group", "a group the base defines")]
    public void AnUnknownNameNamesTheSettingTheNameAndTheBase(string spec, string what, string remedy)
    {
        var ex = Assert.Throws<ContainerException>(() => Resolve(spec));
        Assert.Equal(ErrorCodes.InvalidFileOwner, ex.Code);
        Assert.Contains($"ContainerAppFilesOwner is '{spec}'", ex.Message);
        Assert.Contains($"base image {BaseName} {what}", ex.Message);
        Assert.Contains("use a number", ex.Message);
        Assert.Contains(remedy, ex.Message);
    }

    [Theory]
    [InlineData("a:b:c")]
    [InlineData(":50")]
    [InlineData("app:")]
    [InlineData("my app")]
    public void AnOwnerThatIsNotUserColonGroupIsRefused(string spec)
    {
        var ex = Assert.Throws<ContainerException>(() => FileOwner.Parse(spec, "ContainerAppFilesOwner"));
        Assert.Equal(ErrorCodes.InvalidFileOwner, ex.Code);
        Assert.Contains($"ContainerAppFilesOwner is '{spec}'; write user[:group]", ex.Message);
    }

    /// <summary>A base with /etc/passwd and /etc/group, /srv as a sticky 1777 root directory and APP_UID=1654.</summary>
    private static async Task<string> MakeBaseAsync(TempDirectory work)
    {
        var store = new BlobStore(work.Combine("cache"));
        var passwd = work.WriteFile("base/passwd", Passwd);
        var group = work.WriteFile("base/group", Group);
        var plan = LayerPlan.Create(
        [
            new LayerEntry("etc/passwd", LayerEntryKind.File, LayerEntry.RegularMode, SourcePath: passwd),
            new LayerEntry("etc/group", LayerEntryKind.File, LayerEntry.RegularMode, SourcePath: group),
            new LayerEntry("srv", LayerEntryKind.Directory, Mode("1777")),
        ], "base");
        var layer = await new LayerWriter(store).WriteAsync(plan, new LayerWriterOptions(), CancellationToken.None);
        var builder = ImageBuilder.FromScratch(new Platform { Os = "linux", Architecture = "amd64" }, ImageFormat.Oci);
        builder.Created = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);
        builder.AddLayer(layer, "base");
        builder.SetEnvironmentVariable("APP_UID", "1654");
        var layout = work.Combine("base-layout");
        await OciLayoutWriter.WriteAsync(builder.Build(), References.ImageReference.Parse("runtime"), layout, CancellationToken.None);
        work.WriteFile("publish/Hello.dll", "IL");
        work.WriteFile("publish/wwwroot/index.html", "<html/>");
        work.WriteFile("extra/conf/settings.ini", "x=1");
        return layout;
    }

    /// <summary>Each layer the publish added (above the base's one), as its tar headers say: path → (mode, uid, gid).</summary>
    private static async Task<List<Dictionary<string, (UnixFileMode Mode, int Uid, int Gid)>>> HeadersAsync(Image image)
    {
        var layers = new List<Dictionary<string, (UnixFileMode, int, int)>>();
        foreach (var layer in image.Layers.Skip(1))
        {
            var entries = new Dictionary<string, (UnixFileMode, int, int)>(StringComparer.Ordinal);
            await using var tar = LayerReader.Open(layer.OpenBlob(), new LayerReadOptions { Description = "published layer" });
            while (await tar.NextAsync(CancellationToken.None) is { } entry)
            {
                entries[entry.Name.TrimEnd('/')] = (entry.Mode, entry.Uid, entry.Gid);
                Assert.Equal(string.Empty, ((PosixTarEntry)entry).UserName); // no names in the headers: ids only, as BuildKit writes them
            }

            layers.Add(entries);
        }

        return layers;
    }

    [Fact]
    public async Task AppFilesOwnerAndAWritableWorkingDirectoryGoIntoTheTarHeadersAndTheBasesDirectoriesStay()
    {
        using var work = new TempDirectory();
        var layout = await MakeBaseAsync(work);
        var publisher = new ContainerPublisher(TestServices.For(work.Combine("cache")));
        var result = await publisher.PublishAsync(ContainerPublisherTests.Request(work, layout) with
        {
            WorkingDirectory = "/srv/app",
            AppFilesOwner = "app:staff",
            User = "web",
            WorkingDirectoryWritable = true,
            ExtraLayers =
            [
                new ExtraLayer(work.Combine("extra", "conf"), "/etc/myapp", Mode: "0640", Owner: "web:app"),
                new ExtraLayer(work.Combine("extra", "conf", "settings.ini"), "/srv/app/config/"),
            ],
        }, CancellationToken.None);

        var layers = await HeadersAsync(result.Image);
        Assert.Equal(3, layers.Count);
        var (item, workItem, app) = (layers[0], layers[1], layers[2]);

        // The app's files: ContainerAppFilesOwner, by the base's names.
        Assert.Equal((LayerEntry.RegularMode, 1654, 50), app["srv/app/Hello.dll"]);
        Assert.Equal((LayerEntry.DirectoryMode, 1654, 50), app["srv/app/wwwroot"]);
        Assert.Equal((LayerEntry.RegularMode, 1654, 50), app["srv/app/wwwroot/index.html"]);

        // The working directory: the user the app runs as (ContainerUser web), in every layer that has it.
        Assert.Equal((LayerEntry.DirectoryMode, 1700, 1700), app["srv/app"]);
        Assert.Equal((LayerEntry.DirectoryMode, 1700, 1700), workItem["srv/app"]);

        // A parent the base has keeps the base's mode and owner (issue 14, point 1).
        Assert.Equal((Mode("1777"), 0, 0), app["srv"]);
        Assert.Equal((Mode("1777"), 0, 0), workItem["srv"]);

        // An item's Owner and Mode for its files; an item without Owner stays root's; parents we make are root 0755.
        Assert.Equal((Mode("0640"), 1700, 1654), item["etc/myapp/settings.ini"]);
        Assert.Equal((LayerEntry.DirectoryMode, 1700, 1654), item["etc/myapp"]);
        Assert.Equal((LayerEntry.DirectoryMode, 0, 0), item["etc"]);
        Assert.Equal((LayerEntry.RegularMode, 0, 0), workItem["srv/app/config/settings.ini"]);
        Assert.Equal((LayerEntry.DirectoryMode, 0, 0), workItem["srv/app/config"]);
        Assert.Equal("web", result.Image.Config.Config!.User);
    }

    [Fact]
    public async Task ByDefaultEverythingIsRootsAndWritableAloneGivesTheWorkingDirectoryToTheBasesAppUid()
    {
        using var work = new TempDirectory();
        var layout = await MakeBaseAsync(work);
        var publisher = new ContainerPublisher(TestServices.For(work.Combine("cache")));

        var plain = await HeadersAsync((await publisher.PublishAsync(ContainerPublisherTests.Request(work, layout), CancellationToken.None)).Image);
        Assert.All(plain.SelectMany(l => l.Values), h => Assert.Equal((0, 0), (h.Uid, h.Gid)));

        var writable = (await HeadersAsync((await publisher.PublishAsync(ContainerPublisherTests.Request(work, layout) with { WorkingDirectoryWritable = true }, CancellationToken.None)).Image)).Single();
        Assert.Equal((LayerEntry.DirectoryMode, 1654, 1654), writable["app"]); // APP_UID, as the app runs
        Assert.Equal((LayerEntry.RegularMode, 0, 0), writable["app/Hello.dll"]);

        var numeric = (await HeadersAsync((await publisher.PublishAsync(ContainerPublisherTests.Request(work, layout) with { AppFilesOwner = "4000:4001" }, CancellationToken.None)).Image)).Single();
        Assert.Equal((LayerEntry.RegularMode, 4000, 4001), numeric["app/Hello.dll"]);
        Assert.Equal((LayerEntry.DirectoryMode, 4000, 4001), numeric["app"]);
    }

    [Theory]
    [InlineData("ContainerAppFilesOwner", "nobody", "defines no user 'nobody'")]
    [InlineData("ContainerAppFilesOwner", "app:wheel", "defines no group 'wheel'")]
    [InlineData("Owner", "nobody", "defines no user 'nobody'")]
    [InlineData("ContainerUser", "nobody", "defines no user 'nobody'")]
    public async Task AnUnknownNameFailsThePublishAndWritesNothing(string setting, string spec, string message)
    {
        using var work = new TempDirectory();
        var layout = await MakeBaseAsync(work);
        var request = setting switch
        {
            "ContainerAppFilesOwner" => ContainerPublisherTests.Request(work, layout) with { AppFilesOwner = spec },
            "Owner" => ContainerPublisherTests.Request(work, layout) with { ExtraLayers = [new ExtraLayer(work.Combine("extra", "conf"), "/etc/myapp", Owner: spec)] },
            _ => ContainerPublisherTests.Request(work, layout) with { User = spec, WorkingDirectoryWritable = true },
        };

        var ex = await Assert.ThrowsAsync<ContainerException>(() => new ContainerPublisher(TestServices.For(work.Combine("cache"))).PublishAsync(request, CancellationToken.None));
        Assert.Equal(ErrorCodes.InvalidFileOwner, ex.Code);
        Assert.Contains(setting, ex.Message);
        Assert.Contains($"the base image oci:{layout}:runtime {message}", ex.Message);
        Assert.False(Directory.Exists(work.Combine("out")) && Directory.EnumerateFileSystemEntries(work.Combine("out")).Any());
    }
}
