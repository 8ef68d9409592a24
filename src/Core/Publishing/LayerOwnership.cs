using Sdk.Containers.Dockerfiles;
using Sdk.Containers.Layers;

namespace Sdk.Containers.Publishing;

/// <summary>
/// Who owns what a publish writes, applied to each layer's plan in one order: the working directory and the publish
/// folder's files owned by ContainerAppFilesOwner, a ContainerLayer item's files by its Owner; then the base's
/// directories and links (<see cref="BaseTree.Fit"/>: a directory the base has keeps the base's mode and owner); then,
/// with ContainerWorkingDirectoryWritable, the working directory owned by the user the app runs as, so the app can
/// write there while its files stay as they were owned.
/// </summary>
/// <param name="workingDirectory">Absolute, normalised (see ContainerPublisher.NormalizeWorkingDirectory).</param>
/// <param name="baseImage">The base as the user named it, for messages.</param>
internal sealed class LayerOwnership(FileOwner appFilesOwner, string workingDirectory, bool workingDirectoryWritable, string baseImage)
{
    /// <summary>The plan as it goes on any base, when all it needs is known before the base is read; null when it
    /// needs the base (an owner by name, or a writable working directory for the base's APP_UID).</summary>
    /// <param name="user">ContainerUser as given; null when it is to come from the base.</param>
    public LayerPlan? BeforeBase(PublishLayer layer, string? user)
    {
        var holdsWorkingDirectory = Holds(layer.Plan, BaseTree.Empty);
        if (OwnerOf(layer).NeedsNames || (holdsWorkingDirectory && appFilesOwner.NeedsNames)
            || (holdsWorkingDirectory && workingDirectoryWritable && RunAs(user) is not { NeedsNames: false }))
        {
            return null;
        }

        return OnBase(layer, BaseTree.Empty, UserDatabase.Empty, user);
    }

    /// <summary>The plan as it goes on this base, names resolved through <paramref name="users"/> (the base's).</summary>
    /// <param name="user">The user the app runs as: ContainerUser, or the base's APP_UID; null runs as root.</param>
    public LayerPlan OnBase(PublishLayer layer, BaseTree tree, UserDatabase users, string? user)
    {
        var owned = layer.Plan;
        if (Holds(owned, BaseTree.Empty))
        {
            var (appUid, appGid) = appFilesOwner.Resolve(users, baseImage);
            owned = owned.OwnedBy(appUid, appGid, workingDirectory, andBelow: false);
        }

        var (uid, gid) = OwnerOf(layer).Resolve(users, baseImage);
        owned = owned.OwnedBy(uid, gid, layer.OwnedPath, andBelow: true);
        var fitted = tree.Fit(owned);
        if (!workingDirectoryWritable || RunAs(user) is not { } runAs || !Holds(fitted, tree))
        {
            return fitted;
        }

        var (runUid, runGid) = runAs.Resolve(users, baseImage);
        return fitted.OwnedBy(runUid, runGid, tree.Resolve(LayerPlan.NormalizePath(workingDirectory), followLast: true), andBelow: false);
    }

    private FileOwner OwnerOf(PublishLayer layer) => layer.Owner ?? appFilesOwner;

    private static FileOwner? RunAs(string? user) => FileOwner.Parse(user, "ContainerUser (with ContainerWorkingDirectoryWritable)");

    /// <summary>Whether the layer has an entry for the working directory (as it lies on this base).</summary>
    private bool Holds(LayerPlan plan, BaseTree tree)
    {
        var path = tree.Resolve(LayerPlan.NormalizePath(workingDirectory), followLast: true);
        return plan.Entries.Any(e => e.Path == path);
    }
}
