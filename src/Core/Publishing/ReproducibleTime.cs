using System.Globalization;

namespace Sdk.Containers.Publishing;

/// <summary>Times that make an image reproducible: SOURCE_DATE_EPOCH (reproducible-builds.org) or an explicit value.</summary>
public static class ReproducibleTime
{
    /// <summary>The image creation time: <paramref name="explicitValue"/> (ISO 8601 or Unix seconds), else SOURCE_DATE_EPOCH, else null.</summary>
    public static DateTimeOffset? Resolve(string? explicitValue, string? sourceDateEpoch, string explicitName = "ContainerImageCreated")
    {
        if (!string.IsNullOrWhiteSpace(explicitValue))
        {
            return ParseTime(explicitValue, explicitName);
        }

        return string.IsNullOrWhiteSpace(sourceDateEpoch) ? null : ParseTime(sourceDateEpoch, "SOURCE_DATE_EPOCH");
    }

    public static DateTimeOffset? FromEnvironment(string? explicitValue = null)
        => Resolve(explicitValue, Environment.GetEnvironmentVariable("SOURCE_DATE_EPOCH"));

    private static DateTimeOffset ParseTime(string value, string name)
    {
        value = value.Trim();
        if (long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            return DateTimeOffset.FromUnixTimeSeconds(seconds);
        }

        if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time))
        {
            return time.ToUniversalTime();
        }

        throw new ContainerException(ErrorCodes.InvalidOutput, $"{name} is '{value}', which is neither Unix seconds nor an ISO 8601 time.");
    }
}
