using Humanizer;

namespace Lib;

public static class Words
{
    public static string Of(int number) => number.ToWords();
}
