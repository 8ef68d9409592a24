using System.Reflection;
using System.Text.RegularExpressions;

namespace Sdk.Containers.Tests;

/// <summary>One error catalog: every code is a constant of <see cref="ErrorCodes"/>, listed once in its catalog,
/// used by name in the sources, and the README's error table is the catalog.</summary>
public class ErrorCatalogTests
{
    private static string Root()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Sdk.Containers.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No Sdk.Containers.sln above {AppContext.BaseDirectory}.");
    }

    [Fact]
    public void EveryConstantIsInTheCatalogOnce()
    {
        var constants = typeof(ErrorCodes).GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral).Select(f => (string)f.GetRawConstantValue()!).ToList();
        Assert.Equal(constants.Count, constants.Distinct().Count());
        Assert.Equal(constants.Order(StringComparer.Ordinal), ErrorCodes.Catalog.Select(e => e.Code).Order(StringComparer.Ordinal));
        Assert.All(ErrorCodes.Catalog, e => Assert.Matches("^CONTAINER[0-9]{4}$", e.Code));
    }

    [Fact]
    public void SourcesNameCodesOnlyThroughTheCatalog()
    {
        var root = Root();
        var literals = Directory.EnumerateFiles(Path.Combine(root, "src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal) && Path.GetFileName(f) != "ErrorCodes.cs")
            .SelectMany(f => Regex.Matches(File.ReadAllText(f), "\"CONTAINER[0-9]{4}\"").Select(m => $"{Path.GetRelativePath(root, f)}: {m.Value}"))
            .ToList();
        Assert.Empty(literals);
    }

    [Fact]
    public void TheReadmesErrorTableIsTheCatalog()
    {
        var readme = File.ReadAllText(Path.Combine(Root(), "README.md"));
        var start = readme.IndexOf("| Code | Meaning |", StringComparison.Ordinal);
        Assert.True(start >= 0, "README.md has no error table");
        var end = readme.IndexOf("\n\n", start, StringComparison.Ordinal);
        var rows = readme[start..end].Split('\n').Skip(2).ToList();
        Assert.Equal(ErrorCodes.Catalog.OrderBy(e => e.Code, StringComparer.Ordinal).Select(e => $"| {e.Code} | {e.Meaning} |"), rows);
    }
}
