namespace Sdk.Containers.Supply;

public enum SbomFormat
{
    Spdx,
    CycloneDx,
}
