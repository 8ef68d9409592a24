using System.IO.Compression;
using System.Text;

namespace Sdk.Containers.Integration;

public static class Secrets
{
    /// <summary>Asserts a secret appears neither in the text nor in the (decompressed) binlog.</summary>
    public static void AssertAbsent(string secret, string output, string? binlog)
    {
        Assert.DoesNotContain(secret, output, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String(Encoding.UTF8.GetBytes($"{RegistryServer.User}:{secret}")), output, StringComparison.Ordinal);
        if (binlog is not null)
        {
            Assert.True(File.Exists(binlog), $"no binlog at {binlog}");
            using var decompressed = new MemoryStream();
            using (var file = File.OpenRead(binlog))
            using (var gzip = new GZipStream(file, CompressionMode.Decompress))
            {
                gzip.CopyTo(decompressed);
            }

            var bytes = decompressed.ToArray();
            Assert.True(bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(secret)) < 0, "the secret is in the binlog");
            Assert.True(bytes.AsSpan().IndexOf(Encoding.Unicode.GetBytes(secret)) < 0, "the secret is in the binlog (UTF-16)");
        }
    }
}
