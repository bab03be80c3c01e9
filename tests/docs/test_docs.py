"""The README and docs/ agree with the code: every setting documented, every page linked."""

import dataclasses
import re

from service.settings import Settings
from tests.paths import ROOT

README = (ROOT / "README.md").read_text()
SETTING_ROW = re.compile(r"^\| `(IBDEVSERVER_[A-Z_]+)` \| `([^`]*)` \| (.+) \|$", re.M)


def written(default: object) -> str:
    """A default as the README writes it: flags as 1 or 0, seconds without a trailing .0."""
    if isinstance(default, bool):
        return "1" if default else "0"
    if isinstance(default, float):
        return f"{default:g}"
    return str(default)


def test_the_configuration_table_is_the_settings_object() -> None:
    rows = [match.groups() for match in SETTING_ROW.finditer(README)]
    fields = [
        (spec.metadata["variable"], written(spec.default), spec.metadata["description"])
        for spec in dataclasses.fields(Settings)
    ]
    assert rows == fields


def test_no_module_but_settings_names_a_variable_to_read() -> None:
    for path in (ROOT / "service").rglob("*.py"):
        if path.name != "settings.py":
            assert re.search(r"[\"']IBDEVSERVER_", path.read_text()) is None, path


def test_every_docs_page_is_linked_from_the_readme_and_every_link_resolves() -> None:
    linked = set(re.findall(r"\]\((docs/[^)#]+)", README))
    pages = {f"docs/{path.name}" for path in (ROOT / "docs").glob("*.md")}
    assert pages <= linked
    assert all((ROOT / link).exists() for link in linked), linked


def test_readme_stays_short() -> None:
    assert len(README.splitlines()) <= 150
