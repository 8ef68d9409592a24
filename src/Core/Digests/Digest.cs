using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace Sdk.Containers.Digests;

/// <summary>A content digest as the OCI spec writes it: <c>sha256:&lt;64 lower-case hex&gt;</c>.</summary>
public readonly record struct Digest
{
    public const string Sha256 = "sha256";

    private Digest(string algorithm, string hex)
    {
        Algorithm = algorithm;
        Hex = hex;
    }

    public string Algorithm { get; }

    public string Hex { get; }

    public override string ToString() => $"{Algorithm}:{Hex}";

    public static Digest FromSha256Hash(ReadOnlySpan<byte> hash)
    {
        if (hash.Length != SHA256.HashSizeInBytes)
        {
            throw new ArgumentException("A sha256 hash is 32 bytes.", nameof(hash));
        }

        return new Digest(Sha256, Convert.ToHexStringLower(hash));
    }

    public static Digest Compute(ReadOnlySpan<byte> content) => FromSha256Hash(SHA256.HashData(content));

    public static async Task<Digest> ComputeAsync(Stream content, CancellationToken cancellationToken)
        => FromSha256Hash(await SHA256.HashDataAsync(content, cancellationToken).ConfigureAwait(false));

    public static Digest Parse(string value)
        => TryParse(value, out var digest, out var error)
            ? digest
            : throw new FormatException(error);

    public static bool TryParse(string? value, out Digest digest) => TryParse(value, out digest, out _);

    public static bool TryParse(string? value, out Digest digest, [NotNullWhen(false)] out string? error)
    {
        digest = default;
        if (string.IsNullOrEmpty(value))
        {
            error = "a digest is empty; expected 'sha256:' followed by 64 hex digits";
            return false;
        }

        var colon = value.IndexOf(':');
        if (colon <= 0)
        {
            error = $"'{value}' is not a digest; expected 'sha256:' followed by 64 hex digits";
            return false;
        }

        var algorithm = value[..colon];
        var hex = value[(colon + 1)..];
        if (algorithm != Sha256)
        {
            error = $"digest '{value}' uses algorithm '{algorithm}'; only sha256 is supported";
            return false;
        }

        if (hex.Length != 64)
        {
            error = $"digest '{value}' has {hex.Length} hex digits; sha256 needs 64";
            return false;
        }

        foreach (var c in hex)
        {
            if (!char.IsAsciiHexDigitLower(c) && !char.IsAsciiDigit(c))
            {
                error = $"digest '{value}' contains '{c}'; only lower-case hex digits are allowed";
                return false;
            }
        }

        digest = new Digest(algorithm, hex);
        error = null;
        return true;
    }
}
