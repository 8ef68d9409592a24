using System.Globalization;
using System.Text;

namespace Sdk.Containers.Progress;

/// <summary>
/// Build progress on a terminal, as buildx's tty display: a live area at the bottom (a header with the elapsed time,
/// each running step with its time and the last lines of its output) redrawn in place, and above it what is settled
/// (finished and cached steps, log lines). A failed step's whole output (its last lines, bounded) is kept above, so
/// an error that says "its output is above" is true here too.
/// </summary>
/// <remarks>
/// Thread-safe: the build reports from its own threads while a timer calls <see cref="Refresh"/> to move the clocks.
/// The clock is given, so what is drawn depends only on the calls made (tests count frames, never time them).
/// </remarks>
public sealed partial class TerminalProgress(TextWriter output, Func<TimeSpan> clock, int width, bool verbose = false) : IBuildProgress, IBuildLog, IDisposable
{
    /// <summary>Output lines shown under a running step.</summary>
    public const int TailLines = 6;

    /// <summary>Output lines kept per step, to show in full when it fails.</summary>
    public const int KeptLines = 200;

    private static readonly TimeSpan MinimumInterval = TimeSpan.FromMilliseconds(100);
    private readonly object _gate = new();
    private readonly List<RunningStep> _running = [];
    private int _drawn;
    private int _settled;
    private TimeSpan _lastFrame = -MinimumInterval;
    private bool _finished;

    /// <summary>Frames drawn (each a redraw of the live area).</summary>
    public int Frames { get; private set; }

    public void Started(string step, string command)
    {
        lock (_gate)
        {
            _running.Add(new RunningStep(step, command, clock()));
            Draw();
        }
    }

    public void Cached(string step, string command) => Settle($" => CACHED {step} {command}", Seconds(TimeSpan.Zero));

    public void Output(string step, string line)
    {
        lock (_gate)
        {
            if (_running.FindLast(r => r.Step == step) is not { } running)
            {
                Settle($" => => {line}", null);
                return;
            }

            running.Add(line);

            // Output can come thousands of lines a second; the live area follows at most every 100 ms.
            if (clock() - _lastFrame >= MinimumInterval)
            {
                Draw();
            }
        }
    }

    public void Done(string step, TimeSpan elapsed) => Finish(step, elapsed, failed: false);

    public void Failed(string step) => Finish(step, null, failed: true);

    public void Info(string message) => Settle(message, null);

    public void Detail(string message)
    {
        if (verbose)
        {
            Settle(message, null);
        }
    }

    public void Warning(string code, string message) => Settle($"warning {code}: {message}", null);

    /// <summary>Redraws the live area, so the running steps' clocks move.</summary>
    public void Refresh()
    {
        lock (_gate)
        {
            if (!_finished && _running.Count > 0)
            {
                Draw();
            }
        }
    }

    /// <summary>Clears the live area and writes the closing header; later reports are written as plain lines.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_finished)
            {
                return;
            }

            Clear();
            foreach (var running in _running)
            {
                output.WriteLine(Fit($" => {running.Step} {running.Command}  (stopped)"));
            }

            output.WriteLine($"[+] Building {Seconds(clock())} ({_settled} steps) FINISHED");
            output.Flush();
            _running.Clear();
            _finished = true;
        }
    }

    private void Finish(string step, TimeSpan? elapsed, bool failed)
    {
        lock (_gate)
        {
            var running = _running.FindLast(r => r.Step == step);
            var command = running?.Command ?? string.Empty;
            var time = elapsed ?? (running is null ? TimeSpan.Zero : clock() - running.Started);
            if (running is not null)
            {
                _running.Remove(running);
            }

            var header = $" => {(failed ? "ERROR " : string.Empty)}{step} {command}";
            var lines = new List<string> { Fit(header, Seconds(time)) };
            if (failed && running is { Lines.Count: > 0 })
            {
                lines.Add("------");
                lines.Add($" > {step} {command}:");
                if (running.Dropped > 0)
                {
                    lines.Add($"   ({running.Dropped} earlier lines not kept)");
                }

                lines.AddRange(running.Lines.Select(l => "   " + l));
                lines.Add("------");
            }

            _settled++;
            Write(lines);
        }
    }

    private void Settle(string line, string? time)
    {
        lock (_gate)
        {
            if (time is not null)
            {
                _settled++;
            }

            Write([time is null ? line : Fit(line, time)]);
        }
    }

    /// <summary>Settled lines go above the live area, which is drawn again under them.</summary>
    private void Write(IReadOnlyList<string> lines)
    {
        if (_finished)
        {
            foreach (var line in lines)
            {
                output.WriteLine(line);
            }

            output.Flush();
            return;
        }

        Clear();
        foreach (var line in lines)
        {
            output.WriteLine(line);
        }

        Draw();
    }

    /// <summary>Moves back to the first line of the live area and erases it to the end of the screen.</summary>
    private void Clear()
    {
        if (_drawn > 0)
        {
            output.Write($"\u001b[{_drawn.ToString(CultureInfo.InvariantCulture)}F\u001b[J");
            _drawn = 0;
        }
    }

    private void Draw()
    {
        if (_finished)
        {
            return;
        }

        var now = clock();
        var frame = new StringBuilder();
        var lines = 0;
        void Line(string text)
        {
            frame.Append(text).Append('\n');
            lines++;
        }

        Line(Fit($"[+] Building {Seconds(now)} ({_settled} steps done, {_running.Count} running)"));
        foreach (var running in _running)
        {
            Line(Fit($" => {running.Step} {running.Command}", Seconds(now - running.Started)));
            foreach (var line in running.Lines.Skip(Math.Max(0, running.Lines.Count - TailLines)))
            {
                Line(Fit($" => => {line}"));
            }
        }

        Clear();
        output.Write(frame.ToString());
        output.Flush();
        _drawn = lines;
        _lastFrame = now;
        Frames++;
    }

    /// <summary>One terminal line: cut to the width (a longer one would wrap and break the redraw), the time at the right.</summary>
    /// <remarks>Escape sequences and control characters a command writes (colours, cursor moves, a newline in a JSON
    /// argument) are taken out; a character outside ASCII may take two columns, so it counts as two, and a cut never
    /// splits one.</remarks>
    private string Fit(string text, string? time = null)
    {
        text = Controls().Replace(Escapes().Replace(text, string.Empty), " ");
        var room = Math.Max(20, width - 1) - (time is null ? 0 : time.Length + 1);
        var columns = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var next = columns + (text[i] < 0x80 ? 1 : char.IsLowSurrogate(text[i]) ? 0 : 2);
            if (next > room - 1)
            {
                // Cut before this character (before its high surrogate when it is the low one); "…" takes two.
                text = text[..Math.Max(0, char.IsLowSurrogate(text[i]) ? i - 1 : i)] + "…";
                columns += 2;
                break;
            }

            columns = next;
        }

        if (time is not null)
        {
            return text + new string(' ', Math.Max(1, room - columns + 1)) + time;
        }

        return text;
    }

    /// <summary>ANSI escape sequences: CSI (colours, cursor moves), OSC (titles, links), and two-character ones.</summary>
    [System.Text.RegularExpressions.GeneratedRegex(@"\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(\u0007|\u001b\\)?|\u001b.?")]
    private static partial System.Text.RegularExpressions.Regex Escapes();

    /// <summary>The C0 controls and DEL (tabs, newlines, carriage returns, bells).</summary>
    [System.Text.RegularExpressions.GeneratedRegex(@"[\u0000-\u001f\u007f]")]
    private static partial System.Text.RegularExpressions.Regex Controls();

    private static string Seconds(TimeSpan time) => time.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + "s";

    private sealed class RunningStep(string step, string command, TimeSpan started)
    {
        private readonly Queue<string> _lines = new();

        public string Step { get; } = step;

        public string Command { get; } = command;

        public TimeSpan Started { get; } = started;

        public IReadOnlyCollection<string> Lines => _lines;

        public int Dropped { get; private set; }

        public void Add(string line)
        {
            _lines.Enqueue(line);
            if (_lines.Count > KeptLines)
            {
                _lines.Dequeue();
                Dropped++;
            }
        }
    }
}
