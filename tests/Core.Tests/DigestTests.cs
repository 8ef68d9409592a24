using System.Text;
using Sdk.Containers.Digests;

namespace Sdk.Containers.Tests;

public class DigestTests
{
    [Fact]
    public void ComputesSha256OfBytes()
    {
        // sha256("abc") from FIPS 180-2.
        Assert.Equal("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", Digest.Compute("abc"u8).ToString());
    }

    [Theory]
    [InlineData("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a", "has 63 hex digits")]
    [InlineData("sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD", "only lower-case hex digits")]
    [InlineData("sha512:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "only sha256 is supported")]
    [InlineData("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "is not a digest")]
    [InlineData("", "empty")]
    public void RejectsMalformedDigestsWithAReason(string value, string reason)
    {
        Assert.False(Digest.TryParse(value, out _, out var error));
        Assert.Contains(reason, error);
    }

    [Fact]
    public void ParsesAndComparesByValue()
    {
        var a = Digest.Parse("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        Assert.Equal(Digest.Compute("abc"u8), a);
        Assert.NotEqual(Digest.Compute("abd"u8), a);
    }

    [Fact]
    public async Task HashingStreamHashesWhatPassesThroughAndForwardsIt()
    {
        var data = Encoding.UTF8.GetBytes(new string('x', 200_000));
        using var sink = new MemoryStream();
        await using (var hashing = HashingStream.ForWriting(sink, leaveOpen: true))
        {
            await hashing.WriteAsync(data.AsMemory(0, 1000));
            await hashing.WriteAsync(data.AsMemory(1000));
            Assert.Equal(Digest.Compute(data), hashing.GetDigest());
            Assert.Equal(data.Length, hashing.BytesHashed);
        }

        Assert.Equal(data, sink.ToArray());
    }

    [Fact]
    public async Task ReadingHashStreamCoversDrainedBytes()
    {
        var data = Encoding.UTF8.GetBytes("hello world, hello digest");
        await using var hashing = HashingStream.ForReading(new MemoryStream(data));
        var buffer = new byte[5];
        await hashing.ReadExactlyAsync(buffer);
        await hashing.DrainAsync(CancellationToken.None);
        Assert.Equal(Digest.Compute(data), hashing.GetDigest());
    }
}
