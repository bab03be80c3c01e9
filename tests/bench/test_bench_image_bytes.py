"""bench/image_bytes.py sorts an image's files as docs/image.md's table shows them."""

import pytest

from bench.image_bytes import REST, category, distribution_owners, owner_of

SITE = "opt/venv/lib/python3.11/site-packages"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("usr/bin/python3.11", "the interpreter"),
        ("usr/local/lib/libpython3.11.so.1.0", "the interpreter"),
        ("usr/lib/python3.11/json/decoder.py", "the standard library"),
        ("usr/local/lib/python3.11/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so",
         "the standard library"),
        ("usr/local/lib/python3.11/site-packages/pip/__init__.py",
         "other site-packages (the base's pip, setuptools)"),
        ("usr/lib/x86_64-linux-gnu/libssl.so.3", "shared libraries"),
        ("usr/bin/dash", REST),
    ],
)  # fmt: skip
def test_files_outside_any_distribution_are_sorted_by_where_they_lie(
    path: str, expected: str
) -> None:
    assert category("", path) == expected


def test_a_distributions_files_are_its_own_console_scripts_included() -> None:
    record = (
        "flask/__init__.py,sha256=x,100\n"
        "../../../bin/flask,sha256=y,200\n"
        "flask-3.1.3.dist-info/RECORD,,\n"
    )
    owners = distribution_owners({f"{SITE}/flask-3.1.3.dist-info/RECORD": record})
    assert owners[f"{SITE}/flask/__init__.py"] == "flask"
    assert owners["opt/venv/bin/flask"] == "flask"
    assert category("flask", "opt/venv/bin/flask") == "flask (dependency)"
    assert category("ibdevserver", f"{SITE}/service/__init__.py") == "the project"


def test_a_module_compiled_outside_its_record_is_its_distributions() -> None:
    owners = distribution_owners({f"{SITE}/flask-3.1.3.dist-info/RECORD": "flask/app.py,,\n"})
    assert owner_of(owners, f"{SITE}/flask/__pycache__/app.cpython-313.pyc") == "flask"
    assert owner_of(owners, f"{SITE}/pip/__pycache__/app.cpython-313.pyc") == ""
