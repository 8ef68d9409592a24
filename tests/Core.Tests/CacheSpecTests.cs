using Sdk.Containers.Dockerfiles.Caches;

namespace Sdk.Containers.Tests;

public class CacheSpecTests
{
    [Fact]
    public void BuildxSyntaxAndABareReferenceParse()
    {
        var registry = CacheSpec.Parse("type=registry,ref=localhost:5000/app:cache,mode=max,compression=zstd", "--cache-to", export: true);
        Assert.Equal(("localhost:5000", "app", "cache", CacheMode.Max), (registry.Reference!.Registry, registry.Reference.Repository, registry.Reference.Tag, registry.Mode));

        var bare = CacheSpec.Parse("localhost:5000/app:cache", "--cache-from", export: false);
        Assert.Equal("type=registry,ref=localhost:5000/app:cache", bare.ToString());
        Assert.Equal(CacheMode.Min, bare.Mode);

        var local = CacheSpec.Parse("type=local,dest=/tmp/c", "--cache-to", export: true);
        Assert.Equal(("/tmp/c", "type=local,dest=/tmp/c"), (local.Directory, local.ToString()));
        Assert.Equal("/tmp/d", CacheSpec.Parse("type=local,src=/tmp/d", "--cache-from", export: false).Directory);
    }

    [Theory]
    [InlineData("type=s3,ref=x", true, "type is 's3'")]
    [InlineData("type=registry", true, "it has no ref=")]
    [InlineData("type=local,src=/x", true, "'src' is not a field of a type=local cache (a local cache is written to dest=)")]
    [InlineData("type=local,dest=/x", false, "'dest' is not a field")]
    [InlineData("type=registry,ref=a/b:c,mode=all", true, "mode is 'all'")]
    [InlineData("type=registry,ref=a/b:c,ref=d/e:f", true, "'ref=d/e:f' is not a key=value pair given once")]
    public void ABadCacheIsOneCodedErrorSayingWhy(string value, bool export, string why)
    {
        var ex = Assert.Throws<ContainerException>(() => CacheSpec.Parse(value, export ? "--cache-to" : "--cache-from", export));
        Assert.Equal(ErrorCodes.InvalidCache, ex.Code);
        Assert.Contains($"'{value}' is not a cache: ", ex.Message);
        Assert.Contains(why, ex.Message);
    }
}
