using System.Formats.Tar;
using System.Text;

namespace Sdk.Containers.Layers;

/// <summary>
/// Tar entries whose bytes depend only on what we set. The BCL's PAX entries stamp atime/ctime with the current
/// time, so we use ustar whenever the name fits and PAX (with those times pinned) only for long names and links.
/// </summary>
internal static class DeterministicTarEntry
{
    public static TarEntry Create(TarEntryType type, string name, DateTimeOffset timestamp, string? linkName = null)
    {
        if (FitsUstar(name) && (linkName is null || Encoding.UTF8.GetByteCount(linkName) <= 100) && IsAscii(name))
        {
            return new UstarTarEntry(type, name) { ModificationTime = timestamp };
        }

        var attributes = new Dictionary<string, string>
        {
            ["atime"] = FormatTime(timestamp),
            ["ctime"] = FormatTime(timestamp),
        };
        return new PaxTarEntry(type, name, attributes) { ModificationTime = timestamp };
    }

    private static string FormatTime(DateTimeOffset timestamp) => timestamp.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static bool IsAscii(string value) => Ascii.IsValid(value);

    // The BCL's ustar writer does not use the 155-byte prefix field, so a name fits only in the 100-byte name field.
    private static bool FitsUstar(string name) => Encoding.UTF8.GetByteCount(name) <= 100;
}
