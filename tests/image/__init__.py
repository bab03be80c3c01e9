"""The image's own scripts (image/) and its SBOM, on this machine's interpreter."""
