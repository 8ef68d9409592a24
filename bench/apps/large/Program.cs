var app = WebApplication.CreateSlimBuilder(args).Build();
app.MapGet("/", () => Greeting.Text);
app.Run();

static class Greeting
{
    // The benchmark changes this line between pushes.
    public const string Text = "large app";
}
