import glob
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from service.procfs.status_parser import PARSERS, Field, parse_status
from tests import paths
from tests.known_values import DOCKER_DEFAULT_NAMES

SAMPLES = sorted(paths.SAMPLES.glob("*.txt"))


@pytest.mark.parametrize("sample", SAMPLES, ids=[path.stem for path in SAMPLES])
def test_every_line_is_kept_in_order(sample: Path) -> None:
    text = sample.read_text()
    keys = [line.partition(":")[0] for line in text.splitlines()]
    assert list(parse_status(text)) == keys


def sample_document(name: str) -> dict[str, Field]:
    return parse_status((paths.SAMPLES / f"{name}.txt").read_text())


def test_old_kernel_without_newer_fields() -> None:
    document = sample_document("linux-3.10-centos7")
    assert "CapAmb" not in document
    assert "NoNewPrivs" not in document
    assert document["Groups"] == []
    assert document["Seccomp"] == {"value": 0, "mode": "disabled"}
    assert document["VmRSS"] == 5108 * 1024
    assert document["CapEff"] == {
        "mask": "00000000a80425fb",
        "names": DOCKER_DEFAULT_NAMES,
        "beyond_docker_default": [],
    }


def test_lower_case_kb_is_bytes_too() -> None:
    document = sample_document("linux-4.15-ubuntu")
    assert document["VmPeak"] == 32672 * 1024
    assert document["HugetlbPages"] == 0
    assert document["Groups"] == [0, 1, 2, 3, 4, 6, 10, 11, 20, 26, 27]
    assert document["Speculation_Store_Bypass"] == "thread vulnerable"
    assert document["CapAmb"] == {"mask": "0000000000000000", "names": []}


def test_current_kernel_fields() -> None:
    document = sample_document("linux-6.6-container")
    assert document["Umask"] == {"octal": "0022", "value": 0o22}
    assert document["State"] == {"code": "S", "word": "sleeping"}
    assert document["Uid"] == {
        "real": 10001,
        "effective": 10001,
        "saved": 10001,
        "filesystem": 10001,
    }
    assert document["NSpid"] == [1]
    assert document["SigQ"] == {"queued": 0, "limit": 96365}
    assert document["SigIgn"] == {"mask": "0000000001001000", "names": ["SIGPIPE", "SIGXFSZ"]}
    assert document["Cpus_allowed_list"] == {"written": "0-1", "expanded": [0, 1]}
    assert document["Mems_allowed_list"] == {"written": "0", "expanded": [0]}
    assert document["Cpus_allowed"] == "3"
    assert document["NoNewPrivs"] is True
    assert document["Seccomp"] == {"value": 2, "mode": "filter"}
    assert document["Seccomp_filters"] == 1
    assert document["Threads"] == 1
    assert document["untag_mask"] == "0xffffffffffffffff"
    assert document["x86_Thread_features"] == "shstk wrss"


@pytest.mark.parametrize(
    ("line", "value"),
    [
        ("Seccomp:\t7", "7"),
        ("NoNewPrivs:\tmaybe", "maybe"),
        ("VmRSS:\t12 MB", "12 MB"),
        ("Uid:\t0\t0", "0\t0"),
        ("CapEff:\tnot-hex", "not-hex"),
        ("SigQ:\t1", "1"),
        ("State:\t?", "?"),
        ("Cpus_allowed_list:\t0-99999999999", "0-99999999999"),
        ("Cpus_allowed_list:\t0-99999999999999999999", "0-99999999999999999999"),
        ("Threads:\t", ""),
        ("SomethingNew:\t42 widgets", "42 widgets"),
    ],
)
def test_unknown_or_malformed_values_are_kept_as_written(line: str, value: str) -> None:
    assert list(parse_status(line).values()) == [value]


def test_signal_masks_decode_beyond_the_classic_signals() -> None:
    document = parse_status("SigBlk:\t8000000000000001\n")
    assert document["SigBlk"] == {"mask": "8000000000000001", "names": ["SIGHUP", "SIG64"]}


@pytest.mark.parametrize(
    ("written", "expanded"),
    [("", []), ("0", [0]), ("0-3,8,10-11", [0, 1, 2, 3, 8, 10, 11])],
)
def test_number_lists_expand(written: str, expanded: list[int]) -> None:
    line = f"Cpus_allowed_list:\t{written}"
    assert parse_status(line)["Cpus_allowed_list"] == {"written": written, "expanded": expanded}


keys = st.text(
    alphabet=st.characters(exclude_characters=":\n", exclude_categories=["Cs"]), min_size=1
).filter(lambda key: key == key.strip())
# every key the parser knows, from its own table
known_keys = st.sampled_from(sorted(PARSERS))
huge = st.integers(min_value=-(10**30), max_value=10**30).map(str)
ranges = st.tuples(huge, huge).map("-".join)
number_lists = st.lists(st.one_of(huge, ranges), max_size=4).map(",".join)
values = st.one_of(
    st.text(alphabet=st.characters(exclude_characters="\n", exclude_categories=["Cs"])),
    huge,
    ranges,
    number_lists,
    st.lists(huge, max_size=5).map("\t".join),
    st.tuples(huge, huge).map("/".join),
    huge.map(lambda number: f"{number} kB"),
)


@given(st.dictionaries(st.one_of(keys, known_keys), values))
def test_any_key_value_text_parses_and_keeps_every_key(lines: dict[str, str]) -> None:
    text = "".join(f"{key}:\t{value}\n" for key, value in lines.items())
    assert list(parse_status(text)) == list(lines)


def test_every_process_on_this_machine_parses() -> None:
    parsed = 0
    for path in glob.glob("/proc/[0-9]*/status"):
        try:
            text = Path(path).read_text()
        except OSError:
            continue  # the process ended while we looked
        document = parse_status(text)
        assert isinstance(document["Pid"], int)
        assert isinstance(document["Uid"], dict)
        assert isinstance(document["CapEff"], dict)
        parsed += 1
    assert parsed > 1


OPENAPI = json.loads((paths.ROOT / "service" / "web" / "openapi.json").read_text())
# the document's own $refs (#/components/schemas/...) resolve against its root
status_document = Draft202012Validator(
    {"$ref": "#/components/schemas/StatusDocument", "components": OPENAPI["components"]}
)


# a range may expand to 65,536 numbers (MAX_LIST_LENGTH), which jsonschema takes up to
# a second to check: hypothesis's 200 ms deadline failed such a draw, then shrank it for 20 s
@settings(deadline=None)
@given(st.dictionaries(known_keys, values))
def test_any_known_line_parses_to_what_the_openapi_document_promises(lines: dict[str, str]) -> None:
    text = "".join(f"{key}:\t{value}\n" for key, value in lines.items())
    status_document.validate(parse_status(text))


@pytest.mark.parametrize("sample", SAMPLES, ids=[path.stem for path in SAMPLES])
def test_samples_match_the_openapi_document(sample: Path) -> None:
    status_document.validate(parse_status(sample.read_text()))


def test_every_parser_key_is_in_the_openapi_schema() -> None:
    properties = OPENAPI["components"]["schemas"]["StatusDocument"]["properties"]
    assert sorted(set(PARSERS) - set(properties)) == []
