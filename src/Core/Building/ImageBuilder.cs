using Sdk.Containers.Images;
using Sdk.Containers.Layers;

namespace Sdk.Containers.Building;

/// <summary>
/// Collects changes to a base image (layers appended, run settings changed) and produces a new <see cref="Image"/>;
/// the base is never edited in place.
/// </summary>
public sealed class ImageBuilder
{
    private readonly ImageConfig _baseConfig;
    private readonly List<Layer> _layers;
    private readonly List<HistoryEntry> _history;
    private readonly int _baseHistoryCount;
    private readonly Dictionary<string, string> _annotations = new(StringComparer.Ordinal);

    // The run settings, all in one place and always current: what Config shows is what Build() writes.
    private ContainerConfig _config;

    public ImageBuilder(Image baseImage, ImageFormat? format = null)
        : this(baseImage.Config, baseImage.Layers, format ?? baseImage.Format)
    {
    }

    private ImageBuilder(ImageConfig baseConfig, IReadOnlyList<Layer> layers, ImageFormat format)
    {
        _baseConfig = baseConfig;
        _layers = [.. layers];
        _history = [.. baseConfig.History ?? []];
        _baseHistoryCount = _history.Count;
        _config = baseConfig.Config ?? new ContainerConfig();
        Format = format;
    }

    public static ImageBuilder FromScratch(Platform platform, ImageFormat format)
        => new(new ImageConfig { Architecture = platform.Architecture, Os = platform.Os, Variant = platform.Variant, RootFs = new RootFs { DiffIds = [] } }, [], format);

    public ImageFormat Format { get; set; }

    /// <summary>The diff_ids of the layers so far, base first.</summary>
    public IReadOnlyList<Digests.Digest> DiffIds => _layers.Select(l => l.DiffId).ToArray();

    /// <summary>The image creation time; null keeps the base's.</summary>
    public DateTimeOffset? Created { get; set; }

    public IReadOnlyList<string> Environment => _config.Env ?? [];

    /// <summary>Labels set to the creation time when the image is built, so they always agree with it.</summary>
    public List<string> CreatedLabels { get; } = [];

    public ContainerConfig Config => _config;

    public ImageBuilder AddLayer(Layer layer, string createdBy, string? comment = null)
    {
        _layers.Add(layer);
        _history.Add(new HistoryEntry { CreatedBy = createdBy, Comment = comment });
        return this;
    }

    /// <summary>Gives the last history entry (recorded as config-only) the layer it turned out to make, as WORKDIR
    /// does when its directory had to be created.</summary>
    public ImageBuilder AttachLayerToLastHistory(Layer layer)
    {
        _layers.Add(layer);
        _history[^1] = _history[^1] with { EmptyLayer = null };
        return this;
    }

    /// <summary>Records a config-only change in the history, as Docker does for ENV, CMD and the like.</summary>
    public ImageBuilder AddEmptyHistory(string createdBy, string? comment = null)
    {
        _history.Add(new HistoryEntry { CreatedBy = createdBy, Comment = comment, EmptyLayer = true });
        return this;
    }

    public ImageBuilder SetEnvironmentVariable(string name, string value)
    {
        var prefix = name + "=";
        var env = new List<string>(_config.Env ?? []);
        var index = env.FindIndex(e => e.StartsWith(prefix, StringComparison.Ordinal) || e == name);
        if (index >= 0)
        {
            env[index] = prefix + value;
        }
        else
        {
            env.Add(prefix + value);
        }

        _config = _config with { Env = env };
        return this;
    }

    public string? GetEnvironmentVariable(string name)
    {
        var prefix = name + "=";
        return _config.Env?.FirstOrDefault(e => e.StartsWith(prefix, StringComparison.Ordinal))?[prefix.Length..];
    }

    public ImageBuilder SetLabel(string name, string value)
    {
        _config = _config with { Labels = new Dictionary<string, string>(_config.Labels ?? new Dictionary<string, string>(), StringComparer.Ordinal) { [name] = value } };
        return this;
    }

    public ImageBuilder AddExposedPort(string port)
    {
        _config = _config with { ExposedPorts = new SortedSet<string>(_config.ExposedPorts ?? [], StringComparer.Ordinal) { port } };
        return this;
    }

    public ImageBuilder SetAnnotation(string name, string value)
    {
        _annotations[name] = value;
        return this;
    }

    public ImageBuilder SetEntrypoint(IReadOnlyList<string>? entrypoint)
    {
        _config = _config with { Entrypoint = entrypoint };
        return this;
    }

    public ImageBuilder SetCmd(IReadOnlyList<string>? cmd)
    {
        _config = _config with { Cmd = cmd };
        return this;
    }

    public ImageBuilder SetWorkingDirectory(string? directory)
    {
        _config = _config with { WorkingDir = directory };
        return this;
    }

    /// <summary>Any other change to the run settings (Shell, StopSignal, Healthcheck, Volumes, OnBuild).</summary>
    public ImageBuilder UpdateConfig(Func<ContainerConfig, ContainerConfig> change)
    {
        _config = change(_config);
        return this;
    }

    public string? Author { get; set; }

    /// <summary>The user the image runs as: the base's, or what <see cref="SetUser"/> set.</summary>
    public string? User => _config.User;

    public ImageBuilder SetUser(string? user)
    {
        _config = _config with { User = user };
        return this;
    }

    public Image Build() => Image.Create(Format, ComposeConfig(Created), _layers, _annotations.Count > 0 ? _annotations : null);

    /// <summary>
    /// The config as it would be with <paramref name="created"/> as its time, serialized: equal for two builds that
    /// differ in nothing else, which is how <see cref="CreatedTime"/> knows a rebuild changed nothing.
    /// </summary>
    internal byte[] ConfigBytesAt(DateTimeOffset? created) => ImageJson.Serialize(ComposeConfig(created));

    private ImageConfig ComposeConfig(DateTimeOffset? created)
    {
        var time = FormatTime(created);
        var labels = _config.Labels;
        if (time is not null && CreatedLabels.Count > 0)
        {
            var stamped = new Dictionary<string, string>(labels ?? new Dictionary<string, string>(), StringComparer.Ordinal);
            foreach (var label in CreatedLabels)
            {
                stamped[label] = time;
            }

            labels = stamped;
        }

        return _baseConfig with
        {
            Created = time ?? _baseConfig.Created,
            Author = Author ?? _baseConfig.Author,
            Config = _config with
            {
                Env = _config.Env is { Count: > 0 } env ? env.ToArray() : null,
                Labels = labels is { Count: > 0 } ? new Dictionary<string, string>(labels, StringComparer.Ordinal) : null,
                ExposedPorts = _config.ExposedPorts is { Count: > 0 } ports ? ports.Order(StringComparer.Ordinal).ToArray() : null,
            },
            RootFs = new RootFs { DiffIds = _layers.Select(l => l.DiffId).ToArray() },
            // Entries added here are stamped when the image is built, so they agree with its creation time.
            History = _history.Count > 0 ? _history.Select((h, i) => i < _baseHistoryCount ? h : h with { Created = time }).ToArray() : null,
        };
    }

    internal static string? FormatTime(DateTimeOffset? time)
        => time?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
}
