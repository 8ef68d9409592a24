using System.CommandLine;
using Sdk.Containers.Dockerfiles;
using Sdk.Containers.Targets;
using Sdk.Containers.Images;
using Sdk.Containers.Layers;
using Sdk.Containers.Progress;
using Sdk.Containers.Publishing;
using Sdk.Containers.Registry;

namespace Sdk.Containers.Cli;

/// <summary>`build`: a Dockerfile built without a daemon, with the flags of `docker buildx build`.</summary>
internal static class BuildCommand
{
    public static Command Create()
    {
        var context = new Argument<string>("CONTEXT") { Description = "The build context directory.", DefaultValueFactory = _ => "." };
        var file = new Option<string?>("--file", "-f") { Description = "The Dockerfile (default: CONTEXT/Dockerfile)." };
        var tags = new Option<string[]>("--tag", "-t") { Description = "Name and tag of the image (name:tag); repeatable.", AllowMultipleArgumentsPerToken = false };
        var buildArgs = new Option<string[]>("--build-arg") { Description = "A build argument, KEY=VALUE (or KEY to take it from the environment); repeatable.", AllowMultipleArgumentsPerToken = false };
        var target = new Option<string?>("--target") { Description = "The stage to build (default: the last)." };
        var platform = new Option<string?>("--platform") { Description = "The platform(s) to build for, os/arch[/variant], comma-separated for an index (default: this machine's)." };
        var noCache = new Option<bool>("--no-cache") { Description = "Run every step again instead of reusing cached layers." };
        var outputs = new Option<string[]>("--output", "-o") { Description = "type=docker[,dest=FILE] | type=oci,dest=FILE[,tar=false] | type=registry | type=local,dest=DIR; repeatable.", AllowMultipleArgumentsPerToken = false };
        var load = new Option<bool>("--load") { Description = "Load the image into Docker or Podman (type=docker)." };
        var push = new Option<bool>("--push") { Description = "Push the image to the registries of its tags (type=registry)." };
        var contexts = new Option<string[]>("--build-context") { Description = "A named context, NAME=docker-image://REF | oci-layout://PATH[:TAG] | docker-archive://PATH | DIR; repeatable.", AllowMultipleArgumentsPerToken = false };
        var progressOption = new Option<string>("--progress") { Description = "auto, plain or tty (default auto: tty when the output is a terminal).", DefaultValueFactory = _ => "auto" };
        var format = new Option<string?>("--format") { Description = "The manifest format, docker or oci (default: the base image's; docker for FROM scratch)." };
        var compression = new Option<string?>("--compression") { Description = "Layer compression, gzip[:1-9] or zstd[:1-22] (default gzip:2)." };
        var imageIdFile = new Option<string?>("--iidfile") { Description = "Write the image ID to this file." };
        var secrets = new Option<string[]>("--secret") { Description = "A secret for RUN --mount=type=secret: id=ID,src=FILE or id=ID,env=VARIABLE; repeatable.", AllowMultipleArgumentsPerToken = false };
        var ssh = new Option<string[]>("--ssh") { Description = "An SSH agent for RUN --mount=type=ssh: ID (the agent of $SSH_AUTH_SOCK) or ID=SOCKET; repeatable.", AllowMultipleArgumentsPerToken = false };
        var cacheTo = new Option<string[]>("--cache-to") { Description = "Write the step cache: type=registry,ref=REF[,mode=min|max] or type=local,dest=DIR[,mode=min|max]; repeatable.", AllowMultipleArgumentsPerToken = false };
        var annotations = new Option<string[]>("--annotation") { Description = "An annotation, [manifest:|index:]KEY=VALUE (no prefix: the image manifest); OCI images only; repeatable.", AllowMultipleArgumentsPerToken = false };
        var sbom = new Option<string?>("--sbom") { Description = "Attach an SBOM: true (spdx), spdx, cyclonedx or false (default: spdx when pushing)." };
        var provenance = new Option<string?>("--provenance") { Description = "Attach SLSA provenance: mode=min, mode=max or false (default: min when pushing)." };
        var sbomDirectory = new Option<string?>("--sbom-dir") { Description = "Write the SBOM and provenance into this folder as files too." };
        var cacheFrom = new Option<string[]>("--cache-from") { Description = "Take steps from a step cache: type=registry,ref=REF (or REF) or type=local,src=DIR; repeatable.", AllowMultipleArgumentsPerToken = false };
        var command = new Command("build", "Build an image from a Dockerfile, without a daemon (RUN uses runc).")
        {
            context, file, tags, buildArgs, target, platform, noCache, outputs, load, push, contexts, progressOption, format, compression, imageIdFile, secrets, ssh, cacheTo, cacheFrom, annotations, sbom, provenance, sbomDirectory,
        };
        command.Options.Add(ImageCommandContext.Cache);
        command.Options.Add(ImageCommandContext.Insecure);
        command.SetAction((parse, token) => CliErrors.RunAsync(async () =>
        {
            var mode = parse.GetValue(progressOption) ?? "auto";
            if (mode is not ("auto" or "plain" or "tty"))
            {
                throw new ContainerException(ErrorCodes.InvalidOutput, $"--progress={mode}: use auto, plain or tty.");
            }

            // A terminal gets buildx's redrawing display; CI logs and redirected output get plain lines.
            var clock = System.Diagnostics.Stopwatch.StartNew();
            using var display = mode == "tty" || (mode == "auto" && !Console.IsErrorRedirected && Environment.GetEnvironmentVariable("TERM") is not (null or "" or "dumb"))
                ? new TerminalProgress(Console.Error, () => clock.Elapsed, TerminalWidth(), Environment.GetEnvironmentVariable("SDK_CONTAINERS_VERBOSE") == "1")
                : null;
            using var ticks = display is null ? null : new Timer(_ => display.Refresh(), null, 100, 100);
            IBuildLog log = display is null ? new BuildProgressLog() : display;
            IBuildProgress progress = display is null ? new PlainBuildProgress(log) : display;
            var outputList = (parse.GetValue(outputs) ?? []).Select(OutputSpec.Parse).ToList();
            if (parse.GetValue(load))
            {
                outputList.Add(new OutputSpec(OutputKind.Engine));
            }

            if (parse.GetValue(push))
            {
                outputList.Add(new OutputSpec(OutputKind.Registry));
            }

            var names = (parse.GetValue(tags) ?? []).Select(name => References.ImageReference.Parse(name, "--tag")).ToArray();

            // --platform a,b builds each (a FROM --platform=$BUILDPLATFORM stage runs on this machine for every one of
            // them, with TARGETPLATFORM/TARGETARCH set per target) and puts them under one index.
            var platforms = (parse.GetValue(platform) ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(Platform.Parse).DistinctBy(p => p.ToString()).ToList();
            var annotationSet = Building.AnnotationSet.Parse(parse.GetValue(annotations) ?? [], "--annotation");
            var request = new DockerfileBuildRequest
            {
                Annotations = annotationSet.Manifest,
                ContextDirectory = parse.GetValue(context) ?? ".",
                DockerfilePath = parse.GetValue(file),
                BuildArguments = Pairs(parse.GetValue(buildArgs) ?? [], "--build-arg", fromEnvironment: true),
                Target = parse.GetValue(target),
                Platform = platforms.Count == 1 ? platforms[0] : null,
                NoCache = parse.GetValue(noCache),
                NamedContexts = Pairs(parse.GetValue(contexts) ?? [], "--build-context", fromEnvironment: false),
                Format = parse.GetValue(format) switch
                {
                    null => null,
                    var f when f.Equals("oci", StringComparison.OrdinalIgnoreCase) => ImageFormat.Oci,
                    var f when f.Equals("docker", StringComparison.OrdinalIgnoreCase) => ImageFormat.Docker,
                    var f => throw new ContainerException(ErrorCodes.InvalidOutput, $"--format={f}: use docker or oci."),
                },
                Compression = LayerCompressionSetting.Parse(parse.GetValue(compression)),
                Created = ReproducibleTime.FromEnvironment(),
                Secrets = ById((parse.GetValue(secrets) ?? []).Select(BuildSecret.Parse), s => s.Id, "--secret"),
                Ssh = ById((parse.GetValue(ssh) ?? []).Select(SshAgent.Parse), a => a.Id, "--ssh"),
                CacheTo = (parse.GetValue(cacheTo) ?? []).Select(c => Dockerfiles.Caches.CacheSpec.Parse(c, "--cache-to", export: true)).ToArray(),
                CacheFrom = (parse.GetValue(cacheFrom) ?? []).Select(c => Dockerfiles.Caches.CacheSpec.Parse(c, "--cache-from", export: false)).ToArray(),
            };

            using var services = ImageServices.Create(parse.GetValue(ImageCommandContext.Cache), new RegistryOptions { InsecureRegistries = parse.GetValue(ImageCommandContext.Insecure) ?? [] }, log);
            var targets = outputList.Select(o => o.ToTarget(services.Registries, request.LayerTimestamp, log)).ToArray();
            var attachments = Supply.AttachmentOptions.Resolve(parse.GetValue(sbom), parse.GetValue(provenance), parse.GetValue(sbomDirectory), pushes: outputList.Any(o => o.Kind == OutputKind.Registry), "--sbom", "--provenance");
            var subjectName = names.Length > 0 ? $"{names[0].Registry}/{names[0].Repository}" : "image";
            async Task<IReadOnlyList<Supply.Referrer>> AttachAsync(DockerfileBuildResult built, DockerfileBuildRequest asked, Image? reserialised = null)
                => attachments.Any ? await Dockerfiles.DockerfileAttachments.CreateAsync(asked, built, attachments, subjectName, "cli", services.Store, log, token, reserialised) : [];
            if (outputList.Count == 0)
            {
                log.Warning(ErrorCodes.NoOutput, "No output was given, so the image stays in the build cache only; add --load, --push or --output type=docker,dest=FILE.");
            }

            if (platforms.Count > 1)
            {
                var images = new List<Image>();
                var referrers = new List<Supply.Referrer>();
                var builder = new DockerfileBuilder(services, progress);
                foreach (var target in platforms)
                {
                    log.Info($"Building for {target}");

                    // The cache is exported once, after the last platform, with the steps of all of them.
                    var asked = request with { Platform = target, CacheTo = target == platforms[^1] ? request.CacheTo : [] };
                    var built = await builder.BuildAsync(asked, token);
                    images.Add(built.Image);
                    referrers.AddRange(await AttachAsync(built, asked));
                }

                var index = ImageArtifact.IndexOf(images, IndexAnnotations(annotationSet, images)).WithReferrers(referrers);
                await ImageDelivery.SendAsync(index, names, targets, log, token);
                var indexDigest = index.Digest;
                if (parse.GetValue(imageIdFile) is { } indexIdFile)
                {
                    await File.WriteAllTextAsync(indexIdFile, indexDigest.ToString(), token);
                }

                log.Info($"Done in {clock.Elapsed.TotalSeconds:F1} s");
                display?.Dispose();
                Console.WriteLine(indexDigest);
                return 0;
            }

            var result = await new DockerfileBuilder(services, progress).BuildAsync(request, token);

            var artifact = ImageArtifact.Of(result.Image).WithReferrers(await AttachAsync(result, request), (image, _) => AttachAsync(result, request, image));
            await ImageDelivery.SendAsync(artifact, names, targets, log, token);
            if (parse.GetValue(imageIdFile) is { } idFile)
            {
                await File.WriteAllTextAsync(idFile, result.Image.ConfigDigest.ToString(), token);
            }

            log.Info($"Done in {clock.Elapsed.TotalSeconds:F1} s");
            display?.Dispose();
            Console.WriteLine(result.Image.ConfigDigest);
            return 0;
        }));
        return command;
    }

    private static IReadOnlyDictionary<string, string>? IndexAnnotations(Building.AnnotationSet annotations, IReadOnlyList<Image> images)
    {
        if (annotations.Index.Count == 0)
        {
            return null;
        }

        return images.Any(i => i.Format == ImageFormat.Docker)
            ? throw new ContainerException(ErrorCodes.AnnotationsNeedOci, $"--annotation index:{annotations.Index.Keys.First()}=…: the images are in Docker format, whose manifest lists have no annotations; add --format oci.")
            : annotations.Index;
    }

    private static Dictionary<string, T> ById<T>(IEnumerable<T> items, Func<T, string> id, string option)
    {
        var byId = new Dictionary<string, T>(StringComparer.Ordinal);
        foreach (var item in items)
        {
            if (!byId.TryAdd(id(item), item))
            {
                throw new ContainerException(ErrorCodes.InvalidSecret, $"{option} gives the id '{id(item)}' twice; give each once.");
            }
        }

        return byId;
    }

    private static int TerminalWidth()
    {
        try
        {
            return Console.WindowWidth > 0 ? Console.WindowWidth : 80;
        }
        catch (IOException)
        {
            return 80;
        }
    }

    private static Dictionary<string, string> Pairs(IEnumerable<string> values, string option, bool fromEnvironment)
    {
        var pairs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var value in values)
        {
            var equals = value.IndexOf('=');
            if (equals == 0 || (equals < 0 && !fromEnvironment))
            {
                throw new ContainerException(ErrorCodes.InvalidOutput, $"{option} {value}: write NAME=VALUE.");
            }

            if (equals < 0)
            {
                // buildx takes a bare name's value from the environment, and leaves it out when unset.
                if (Environment.GetEnvironmentVariable(value) is { } fromEnv)
                {
                    pairs[value] = fromEnv;
                }

                continue;
            }

            pairs[value[..equals]] = value[(equals + 1)..];
        }

        return pairs;
    }
}

/// <summary>Build progress on stderr as plain lines (CI, redirected output, --progress=plain).</summary>
internal sealed class BuildProgressLog : IBuildLog
{
    private readonly bool _verbose = Environment.GetEnvironmentVariable("SDK_CONTAINERS_VERBOSE") == "1";

    public void Info(string message) => Console.Error.WriteLine(message);

    public void Detail(string message)
    {
        if (_verbose)
        {
            Info(message);
        }
    }

    public void Warning(string code, string message) => Console.Error.WriteLine($"warning {code}: {message}");
}
