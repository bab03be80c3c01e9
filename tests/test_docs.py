"""The README and docs/ agree with the code: every setting documented, every page linked."""

import re
from pathlib import Path

from service.app import DEFAULTS

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text()


def test_every_environment_variable_the_service_reads_is_documented() -> None:
    source = "".join(path.read_text() for path in (ROOT / "service").glob("*.py"))
    read = set(re.findall(r'"(IBDEVSERVER_[A-Z_]+)"', source))
    read |= {f"IBDEVSERVER_{key}" for key in DEFAULTS}
    documented = set(re.findall(r"^\| `(IBDEVSERVER_[A-Z_]+)` \|", README, re.M))
    assert read == documented


def test_every_docs_page_is_linked_from_the_readme_and_every_link_resolves() -> None:
    linked = set(re.findall(r"\]\((docs/[^)#]+)", README))
    pages = {f"docs/{path.name}" for path in (ROOT / "docs").glob("*.md")}
    assert pages <= linked
    assert all((ROOT / link).exists() for link in linked), linked


def test_readme_stays_short() -> None:
    assert len(README.splitlines()) <= 150
