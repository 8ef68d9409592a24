using System.Buffers;
using System.Formats.Tar;
using System.Globalization;
using System.Text;

namespace Sdk.Containers.Layers;

/// <summary>What a tar header says about one entry, before it is written.</summary>
internal sealed record TarHeaderFields(TarEntryType Type, string Name, UnixFileMode Mode, DateTimeOffset ModificationTime)
{
    public string? LinkName { get; init; }

    public int Uid { get; init; }

    public int Gid { get; init; }

    public int DeviceMajor { get; init; }

    public int DeviceMinor { get; init; }
}

/// <summary>
/// Writes tar entries whose bytes depend only on what they describe. An entry that fits ustar (name and link of at
/// most 100 ASCII bytes, size below 8 GiB, ids below 2,097,152, a time from 1970 within 8^11 seconds) is written by the
/// BCL's ustar writer, as always, so ordinary layers keep their digests. Any other entry gets a PAX extended header
/// of ours carrying only the values that do not fit, as Docker and BuildKit write them: the BCL's own PAX writer
/// names that header after the process id and stamps atime/ctime, which would make every build's bytes differ.
/// </summary>
internal sealed class DeterministicTarWriter(Stream output) : IAsyncDisposable
{
    private const long MaxOctal11 = 8589934591; // 8^11 - 1: the largest size or time a 12-byte field holds
    private const int MaxOctal7 = 2097151; // 8^7 - 1: the largest id an 8-byte field holds
    private const int Block = 512;

    // Shared and never changed: most entries need no record.
    private static readonly SortedDictionary<string, string> NoRecords = new(StringComparer.Ordinal);

    private readonly TarWriter _bcl = new(output, TarEntryFormat.Ustar, leaveOpen: true);
    private bool _bclWrote;
    private bool _oursWrote;

    /// <summary>Entries whose header needed PAX records (for tests and the log).</summary>
    public int PaxEntries { get; private set; }

    public async Task WriteAsync(TarHeaderFields fields, Stream? data, CancellationToken cancellationToken)
    {
        var size = data is null ? 0 : data.Length;
        var records = PaxRecords(fields, size);
        if (records.Count == 0)
        {
            var entry = new UstarTarEntry(fields.Type, fields.Name)
            {
                ModificationTime = fields.ModificationTime,
                Mode = fields.Mode,
                Uid = fields.Uid,
                Gid = fields.Gid,
            };
            if (fields.Type is TarEntryType.CharacterDevice or TarEntryType.BlockDevice)
            {
                entry.DeviceMajor = fields.DeviceMajor;
                entry.DeviceMinor = fields.DeviceMinor;
            }

            if (fields.LinkName is { } link)
            {
                entry.LinkName = link;
            }

            if (data is not null)
            {
                entry.DataStream = data;
            }

            await _bcl.WriteEntryAsync(entry, cancellationToken).ConfigureAwait(false);
            _bclWrote = true;
            return;
        }

        PaxEntries++;
        _oursWrote = true;
        var body = Encoding.UTF8.GetBytes(string.Concat(records.Select(r => Record(r.Key, r.Value))));
        var paxHeader = Header(new TarHeaderFields(TarEntryType.ExtendedAttributes, PaxHeaderName(fields.Name), (UnixFileMode)0b110_100_100, Clamp(fields.ModificationTime)), body.Length, records: null);
        await output.WriteAsync(paxHeader, cancellationToken).ConfigureAwait(false);
        await output.WriteAsync(body, cancellationToken).ConfigureAwait(false);
        await PadAsync(body.Length, cancellationToken).ConfigureAwait(false);
        await output.WriteAsync(Header(fields, size, records), cancellationToken).ConfigureAwait(false);
        if (data is not null)
        {
            var copied = await CopyAsync(data, cancellationToken).ConfigureAwait(false);
            if (copied != size)
            {
                throw new IOException($"'{fields.Name}' changed size while it was written ({size:N0} bytes when its header was written, {copied:N0} read)");
            }

            await PadAsync(size, cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _bcl.DisposeAsync().ConfigureAwait(false);

        // The BCL ends the archive only when it wrote an entry itself.
        if (_oursWrote && !_bclWrote)
        {
            await output.WriteAsync(new byte[2 * Block]).ConfigureAwait(false);
        }
    }

    /// <summary>The values that do not fit ustar, as PAX records in key order; none for an entry that fits.</summary>
    internal static SortedDictionary<string, string> PaxRecords(TarHeaderFields fields, long size)
    {
        var seconds = fields.ModificationTime.ToUnixTimeSeconds();
        if (FitsUstarName(fields.Name) && (fields.LinkName is null || FitsUstarName(fields.LinkName)) && size <= MaxOctal11
            && fields.Uid is >= 0 and <= MaxOctal7 && fields.Gid is >= 0 and <= MaxOctal7 && seconds is >= 0 and <= MaxOctal11)
        {
            return NoRecords;
        }

        var records = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (!FitsUstarName(fields.Name))
        {
            records["path"] = fields.Name;
        }

        if (fields.LinkName is { } link && !FitsUstarName(link))
        {
            records["linkpath"] = link;
        }

        if (size > MaxOctal11)
        {
            records["size"] = size.ToString(CultureInfo.InvariantCulture);
        }

        if (fields.Uid is < 0 or > MaxOctal7)
        {
            records["uid"] = fields.Uid.ToString(CultureInfo.InvariantCulture);
        }

        if (fields.Gid is < 0 or > MaxOctal7)
        {
            records["gid"] = fields.Gid.ToString(CultureInfo.InvariantCulture);
        }

        if (seconds is < 0 or > MaxOctal11)
        {
            records["mtime"] = seconds.ToString(CultureInfo.InvariantCulture);
        }

        return records;
    }

    // The BCL's ustar writer does not use the 155-byte prefix field, so a name fits only in the 100-byte name field.
    private static bool FitsUstarName(string name) => name.Length <= 100 && Ascii.IsValid(name);

    /// <summary>"%d key=value\n", where the length counts itself.</summary>
    private static string Record(string key, string value)
    {
        var rest = Encoding.UTF8.GetByteCount(key) + Encoding.UTF8.GetByteCount(value) + 3; // ' ', '=', '\n'
        var length = rest + 1;
        while (length.ToString(CultureInfo.InvariantCulture).Length + rest > length)
        {
            length++;
        }

        return $"{length.ToString(CultureInfo.InvariantCulture)} {key}={value}\n";
    }

    /// <summary>dir/PaxHeaders.0/name, in the style of Go's archive/tar (Docker, BuildKit): a fixed name, never a process id.</summary>
    private static string PaxHeaderName(string name)
    {
        var trimmed = name.TrimEnd('/');
        var slash = trimmed.LastIndexOf('/');
        var header = slash < 0 ? $"PaxHeaders.0/{trimmed}" : $"{trimmed[..slash]}/PaxHeaders.0/{trimmed[(slash + 1)..]}";
        return AsciiPrefix(header, 100);
    }

    /// <summary>The ASCII characters of <paramref name="value"/>, at most <paramref name="length"/> of them: what
    /// a reader without PAX support sees in the ustar field.</summary>
    private static string AsciiPrefix(string value, int length)
    {
        var ascii = new string(value.Where(c => c is > '\0' and < (char)0x80).ToArray());
        return ascii.Length <= length ? ascii : ascii[..length];
    }

    private static DateTimeOffset Clamp(DateTimeOffset time)
    {
        var seconds = time.ToUnixTimeSeconds();
        return seconds is < 0 or > MaxOctal11 ? DateTimeOffset.UnixEpoch : time;
    }

    /// <summary>A ustar header block; a field whose value is in the PAX records holds what fits (0, or the ASCII prefix).</summary>
    private static byte[] Header(TarHeaderFields fields, long size, IReadOnlyDictionary<string, string>? records)
    {
        bool InRecords(string key) => records?.ContainsKey(key) == true;
        var block = new byte[Block];
        Text(block, 0, 100, AsciiPrefix(fields.Name, 100));
        Octal(block, 100, 8, (long)fields.Mode & 0b111_111_111_111);
        Octal(block, 108, 8, InRecords("uid") ? 0 : fields.Uid);
        Octal(block, 116, 8, InRecords("gid") ? 0 : fields.Gid);
        Octal(block, 124, 12, InRecords("size") ? 0 : size);
        Octal(block, 136, 12, InRecords("mtime") ? 0 : fields.ModificationTime.ToUnixTimeSeconds());
        block[156] = TypeFlag(fields.Type);
        Text(block, 157, 100, AsciiPrefix(fields.LinkName ?? string.Empty, 100));
        Text(block, 257, 6, "ustar");
        Text(block, 263, 2, "00");
        if (fields.Type is TarEntryType.CharacterDevice or TarEntryType.BlockDevice)
        {
            Octal(block, 329, 8, fields.DeviceMajor);
            Octal(block, 337, 8, fields.DeviceMinor);
        }

        // The checksum is taken with its own field as spaces, and written as six octal digits, NUL, space.
        Array.Fill(block, (byte)' ', 148, 8);
        var sum = block.Sum(b => (long)b);
        Octal(block, 148, 7, sum);
        block[155] = (byte)' ';
        return block;
    }

    private static byte TypeFlag(TarEntryType type) => type == TarEntryType.V7RegularFile ? (byte)'0' : (byte)type;

    private static void Text(byte[] block, int offset, int length, string value)
        => Encoding.ASCII.GetBytes(value.AsSpan(0, Math.Min(value.Length, length)), block.AsSpan(offset, length));

    /// <summary>Zero-padded octal filling the field but its last byte, which stays NUL.</summary>
    private static void Octal(byte[] block, int offset, int length, long value)
        => Text(block, offset, length - 1, Convert.ToString(value, 8).PadLeft(length - 1, '0'));

    private async Task<long> CopyAsync(Stream data, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            long total = 0;
            int read;
            while ((read = await data.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                total += read;
            }

            return total;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task PadAsync(long size, CancellationToken cancellationToken)
    {
        var padding = (int)((Block - (size % Block)) % Block);
        if (padding > 0)
        {
            await output.WriteAsync(new byte[padding], cancellationToken).ConfigureAwait(false);
        }
    }
}
