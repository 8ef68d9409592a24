using System.Security.Cryptography;
using System.Text;

namespace Sdk.Containers.Supply;

/// <summary>RFC 9562 version 5 UUIDs (SHA-1 of a namespace and a name): the same name always gives the same UUID.</summary>
internal static class NameBasedUuid
{
    /// <summary>RFC 9562's namespace for URLs.</summary>
    private static readonly byte[] UrlNamespace = Convert.FromHexString("6ba7b8119dad11d180b400c04fd430c8");

    /// <summary>Our namespace: the UUID of our URL in the URL namespace.</summary>
    public static byte[] Ours { get; } = Bytes(UrlNamespace, "https://sdk-containers.dev/sbom");

    public static string Create(byte[] ns, string name)
    {
        var hex = Convert.ToHexStringLower(Bytes(ns, name));
        return $"{hex[..8]}-{hex[8..12]}-{hex[12..16]}-{hex[16..20]}-{hex[20..]}";
    }

    private static byte[] Bytes(byte[] ns, string name)
    {
        var hash = SHA1.HashData([.. ns, .. Encoding.UTF8.GetBytes(name)]);
        var uuid = hash[..16];
        uuid[6] = (byte)((uuid[6] & 0x0f) | 0x50); // version 5
        uuid[8] = (byte)((uuid[8] & 0x3f) | 0x80); // the RFC variant
        return uuid;
    }
}
