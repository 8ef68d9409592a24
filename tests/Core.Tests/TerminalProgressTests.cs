using System.Text;
using System.Text.RegularExpressions;
using Sdk.Containers.Progress;

namespace Sdk.Containers.Tests;

public class TerminalProgressTests
{
    /// <summary>What a terminal shows after the output: the two control sequences the display uses are applied
    /// (ESC[nF: up n lines to column 0; ESC[J: erase to the end of the screen).</summary>
    private static List<string> Screen(string output)
    {
        var lines = new List<string> { string.Empty };
        var row = 0;
        var i = 0;
        while (i < output.Length)
        {
            var control = Regex.Match(output[i..], @"^\u001b\[(\d*)([FJ])");
            if (control.Success)
            {
                if (control.Groups[2].Value == "F")
                {
                    row = Math.Max(0, row - int.Parse(control.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
                }
                else
                {
                    lines.RemoveRange(row, lines.Count - row);
                    lines.Add(string.Empty);
                }

                i += control.Length;
                continue;
            }

            if (output[i] == '\n')
            {
                row++;
                if (row == lines.Count)
                {
                    lines.Add(string.Empty);
                }
            }
            else
            {
                lines[row] += output[i];
            }

            i++;
        }

        return lines.Take(lines.Count - (lines[^1].Length == 0 ? 1 : 0)).ToList();
    }

    private sealed class Clock
    {
        public TimeSpan Now { get; set; }
    }

    [Fact]
    public void RunningStepsAreRedrawnInPlaceWithTheirLastLinesAndSettleAboveWhenDone()
    {
        var output = new StringWriter();
        var clock = new Clock();
        using var display = new TerminalProgress(output, () => clock.Now, 100);
        display.Cached("[build 2/4]", "COPY *.csproj .");
        display.Started("[build 3/4]", "RUN dotnet restore -a amd64");
        for (var i = 1; i <= 10; i++)
        {
            clock.Now += TimeSpan.FromMilliseconds(150);
            display.Output("[build 3/4]", $"line {i}");
        }

        var screen = Screen(output.ToString());
        Assert.StartsWith(" => CACHED [build 2/4] COPY *.csproj .", screen[0]);
        Assert.EndsWith("0.0s", screen[0]);
        Assert.Equal("[+] Building 1.5s (1 steps done, 1 running)", screen[1]);
        Assert.StartsWith(" => [build 3/4] RUN dotnet restore -a amd64", screen[2]);
        Assert.EndsWith("1.5s", screen[2]);
        Assert.Equal(Enumerable.Range(5, TerminalProgress.TailLines).Select(i => $" => => line {i}"), screen[3..]);

        // The timer moves the clock of a running step without any report.
        clock.Now += TimeSpan.FromSeconds(1);
        display.Refresh();
        Assert.EndsWith("2.5s", Screen(output.ToString())[2]);

        display.Done("[build 3/4]", TimeSpan.FromSeconds(2.4));
        screen = Screen(output.ToString());
        Assert.Equal(3, screen.Count);
        Assert.StartsWith(" => [build 3/4] RUN dotnet restore -a amd64", screen[1]);
        Assert.EndsWith("2.4s", screen[1]);
        Assert.Equal("[+] Building 2.5s (2 steps done, 0 running)", screen[2]);

        display.Info("Built stage build: 5 layers");
        display.Dispose();
        screen = Screen(output.ToString());
        Assert.Equal("Built stage build: 5 layers", screen[2]);
        Assert.Equal("[+] Building 2.5s (2 steps) FINISHED", screen[^1]);
        Assert.Equal(4, screen.Count);
    }

    [Fact]
    public void ManyOutputLinesAtOnceDrawFewFrames()
    {
        var output = new StringWriter();
        var clock = new Clock();
        using var display = new TerminalProgress(output, () => clock.Now, 80);
        display.Started("[stage-0 2/2]", "RUN make");
        var framesAtStart = display.Frames;
        for (var i = 0; i < 5000; i++)
        {
            display.Output("[stage-0 2/2]", $"compiling {i}");
        }

        // All within one 100 ms interval: no frame for the lines (the next timer tick shows them).
        Assert.Equal(framesAtStart, display.Frames);
        display.Refresh();
        Assert.Equal(framesAtStart + 1, display.Frames);
        Assert.Equal(" => => compiling 4999", Screen(output.ToString())[^1]);
    }

    [Fact]
    public void AFailedStepKeepsItsOutputAboveBounded()
    {
        var output = new StringWriter();
        var clock = new Clock();
        var display = new TerminalProgress(output, () => clock.Now, 80);
        display.Started("[stage-0 2/2]", "RUN ./build.sh");
        for (var i = 1; i <= TerminalProgress.KeptLines + 50; i++)
        {
            display.Output("[stage-0 2/2]", $"out {i}");
        }

        clock.Now = TimeSpan.FromSeconds(3);
        display.Failed("[stage-0 2/2]");
        display.Dispose();
        var screen = Screen(output.ToString());
        Assert.StartsWith(" => ERROR [stage-0 2/2] RUN ./build.sh", screen[0]);
        Assert.EndsWith("3.0s", screen[0]);
        Assert.Equal("   (50 earlier lines not kept)", screen[3]);
        Assert.Equal("   out 51", screen[4]);
        Assert.Contains($"   out {TerminalProgress.KeptLines + 50}", screen);
        Assert.Equal("------", screen[^2]);
    }

    [Fact]
    public void LinesAreCutToTheWidthSoTheRedrawNeverWraps()
    {
        var output = new StringWriter();
        var display = new TerminalProgress(output, () => TimeSpan.Zero, 40);
        display.Started("[build 4/6]", "RUN " + new string('x', 200));
        display.Output("[build 4/6]", new string('y', 300) + "\tend");
        display.Refresh();
        var screen = Screen(output.ToString());
        Assert.All(screen, line => Assert.True(line.Length < 40, $"'{line}' is {line.Length} characters"));
        Assert.EndsWith("0.0s", screen[1]);
        Assert.Contains(screen, line => line.StartsWith(" => => yyy", StringComparison.Ordinal) && line.EndsWith('…'));
    }

    [Fact]
    public void EscapesAndControlsFromACommandCannotBreakTheRedraw()
    {
        var output = new StringWriter();
        var display = new TerminalProgress(output, () => TimeSpan.Zero, 60);
        display.Started("[build 2/2]", "RUN [\"sh\", \"-c\", \"echo a\nb\"]");
        display.Output("[build 2/2]", "\u001b[32mPASSED\u001b[0m tests\u001b[K\ttotal\r");
        display.Output("[build 2/2]", new string('字', 80));
        display.Refresh();
        var frame = output.ToString();
        frame = frame[frame.LastIndexOf("[+] Building", StringComparison.Ordinal)..];
        var lines = frame.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length); // header, the step, its two output lines: nothing in them made another line
        Assert.Equal(" => => PASSED tests total ", lines[2]);
        Assert.DoesNotContain('\u001b', string.Concat(lines));
        Assert.True(lines[3].Sum(c => c < 0x80 ? 1 : 2) < 60, $"wide characters count as two columns: {lines[3]}");
    }
}
