"""Read an image's layers as the engine ships them: `docker save`'s layer tarballs."""

import json
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from typing import IO, Any


@dataclass(frozen=True)
class Layer:
    """One filesystem layer: its content digest, its tarball's bytes, the paths it holds."""

    diff_id: str
    size: int
    paths: tuple[str, ...]


def member(archive: tarfile.TarFile, name: str) -> IO[bytes]:
    found = archive.extractfile(name)
    assert found is not None, name
    return found


def image_layers(image: str) -> list[Layer]:
    """Every layer of `image`, base first."""
    with tempfile.TemporaryFile() as saved:
        subprocess.run(["docker", "save", image], stdout=saved, check=True)
        saved.seek(0)
        with tarfile.open(fileobj=saved) as archive:
            manifest: dict[str, Any] = json.load(member(archive, "manifest.json"))[0]
            config: dict[str, Any] = json.load(member(archive, manifest["Config"]))
            layers = []
            for name, diff_id in zip(manifest["Layers"], config["rootfs"]["diff_ids"], strict=True):
                with tarfile.open(fileobj=member(archive, name)) as layer:
                    paths = tuple(layer.getnames())
                layers.append(Layer(diff_id, archive.getmember(name).size, paths))
    return layers


def changed_bytes(before: list[Layer], after: list[Layer]) -> int:
    """The bytes a registry or a `docker pull` must ship for `after` when it has `before`."""
    known = {layer.diff_id for layer in before}
    return sum(layer.size for layer in after if layer.diff_id not in known)
