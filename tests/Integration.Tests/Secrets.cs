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

    /// <summary>Asserts a secret (or its Basic form) is in no file under the given directories, binlogs aside.</summary>
    public static void AssertAbsentFromFiles(string secret, params string[] directories)
    {
        var needles = new[]
        {
            Encoding.UTF8.GetBytes(secret),
            Encoding.Unicode.GetBytes(secret),
            Encoding.UTF8.GetBytes(Convert.ToBase64String(Encoding.UTF8.GetBytes($"{RegistryServer.User}:{secret}"))),
        };
        var searched = 0;
        foreach (var directory in directories.Where(Directory.Exists))
        {
            foreach (var file in Directory.EnumerateFiles(directory, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
            {
                if (file.EndsWith(".binlog", StringComparison.Ordinal) || new FileInfo(file).LinkTarget is not null)
                {
                    continue;
                }

                var bytes = File.ReadAllBytes(file);
                searched++;
                foreach (var needle in needles)
                {
                    Assert.True(bytes.AsSpan().IndexOf(needle) < 0, $"the secret is in {file}");
                }
            }
        }

        Assert.True(searched > 0, "no written file was searched");
    }
}
