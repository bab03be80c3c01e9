"""The release's version is one fact: setup.cfg's, which the CHANGELOG's latest entry names."""

import configparser
import re

from tests.paths import ROOT


def package_version() -> str:
    metadata = configparser.ConfigParser()
    metadata.read(ROOT / "setup.cfg")
    return metadata["metadata"]["version"]


def test_the_changelogs_latest_entry_is_the_package_version() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text()
    released = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d{2}-\d{2}$", changelog, re.M)
    assert released, "CHANGELOG.md has no released entry"
    assert released[0] == package_version()
