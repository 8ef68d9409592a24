var app = WebApplication.CreateSlimBuilder(args).Build();

app.MapGet("/", () => Greeting.Text);
app.MapGet("/healthz", () => Results.Ok());

app.Run();

static class Greeting
{
    // Tests change this line to see that only the app layer changes.
    public const string Text = "Hello from the Sdk.Containers web sample!";
}
