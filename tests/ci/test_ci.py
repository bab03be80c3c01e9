"""CI's files agree with what they stand for: the workflow, smoke script, hooks, Renovate."""

import configparser
import json
import re
import shlex
from typing import Any

import yaml

from tests.kubernetes import RESTRICTED_EXAMPLE, ROOT, one, render, server_container

WORKFLOW: dict[Any, Any] = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
SMOKE = (ROOT / "scripts" / "kubernetes-smoke").read_text()
# the options Renovate's pip-compile manager accepts in a lock's header
# (renovatebot/renovate, lib/modules/manager/pip-compile/common.ts)
RENOVATE_PIP_COMPILE_OPTIONS = {
    "--allow-unsafe", "--generate-hashes", "--no-emit-index-url", "--strip-extras", "--output-file",
}  # fmt: skip


def steps() -> list[dict[str, Any]]:
    return [step for job in WORKFLOW["jobs"].values() for step in job["steps"]]


def smoke_setting(name: str) -> str:
    (value,) = re.findall(rf"^{name}=(\S+)$", SMOKE, re.M)
    return str(value)


def test_every_action_is_pinned_by_a_full_commit_sha_with_its_version() -> None:
    workflow = (ROOT / ".github" / "workflows" / "ci.yml").read_text()
    uses = re.findall(r"uses: (\S+)(.*)$", workflow, re.M)
    assert uses
    for action, comment in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", action), action
        assert re.fullmatch(r" # v\d+\.\d+\.\d+", comment), (action, comment)


def test_the_workflow_reads_the_repository_only() -> None:
    assert WORKFLOW["permissions"] == {"contents": "read"}
    assert "pull_request_target" not in WORKFLOW[True]  # YAML reads the key `on` as True


def test_the_test_jobs_python_is_the_images() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    (image_python,) = re.findall(r"^ARG PYTHON_IMAGE=python:(\d+\.\d+)-", dockerfile, re.M)
    versions = [
        step["with"]["python-version"] for step in steps() if "setup-python" in step.get("uses", "")
    ]
    assert versions == [image_python]


def test_the_smoke_scripts_names_are_the_examples() -> None:
    objects = render(RESTRICTED_EXAMPLE)
    deployment, service = one(objects, "Deployment"), one(objects, "Service")
    (port,) = server_container(objects)["ports"]
    assert smoke_setting("EXAMPLE") == str(RESTRICTED_EXAMPLE.relative_to(ROOT))
    assert smoke_setting("NAMESPACE") == one(objects, "Namespace")["metadata"]["name"]
    assert smoke_setting("NAMESPACE") == deployment["metadata"]["namespace"]
    assert smoke_setting("DEPLOYMENT") == deployment["metadata"]["name"]
    assert smoke_setting("SERVICE") == service["metadata"]["name"]
    assert smoke_setting("PORT_NAME") == service["spec"]["ports"][0]["name"] == port["name"]
    assert int(smoke_setting("CONTAINER_PORT")) == port["containerPort"]
    selector = dict(pair.split("=") for pair in smoke_setting("SELECTOR").split(","))
    assert selector == deployment["spec"]["selector"]["matchLabels"]


def test_the_hooks_run_the_tools_scripts_test_runs() -> None:
    script = (ROOT / "scripts" / "test").read_text()
    linters = script[script.index('echo "== ruff"') : script.index('echo "== pytest"')]
    # each line that starts a tool (not an echo, a comment, compose's merge or a continuation)
    tools = set(re.findall(r"^(?!echo|merged|trap|docker)([a-z][\w-]*)", linters, re.M))
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    (local,) = config["repos"]
    assert local["repo"] == "local"
    assert all(hook["language"] == "system" for hook in local["hooks"])
    hooked = {
        re.sub(r"^\.venv/bin/", "", word)
        for hook in local["hooks"]
        for word in shlex.split(hook["entry"])[:1] + re.findall(r"\.venv/bin/\S+", hook["entry"])
    }
    assert tools == hooked - {"bash"}


def renovate_patterns() -> list[str]:
    config = json.loads((ROOT / "renovate.json").read_text())
    managers = [config[name] for name in ("pip-compile", "pip_requirements")]
    return [
        pattern.strip("/") for manager in managers for pattern in manager["managerFilePatterns"]
    ]


def test_renovate_matches_every_lock_and_can_read_its_header() -> None:
    locks = sorted(ROOT.glob("*.lock"))
    assert locks
    for lock in locks:
        assert any(re.search(pattern, lock.name) for pattern in renovate_patterns()), lock.name
        (command,) = re.findall(r"^#    (pip-compile .*)$", lock.read_text(), re.M)
        options = {word.split("=")[0] for word in shlex.split(command)[1:] if word.startswith("-")}
        assert options <= RENOVATE_PIP_COMPILE_OPTIONS, (lock.name, options)


def test_scripts_test_runs_what_the_inner_loop_leaves_out() -> None:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    assert '-m "not tools"' in config["tool:pytest"]["addopts"]
    script = (ROOT / "scripts" / "test").read_text()
    # an empty -m selects every test, the ones marked tools included
    assert re.findall(r"^pytest .*$", script, re.M) == ['pytest -m "" "$@"']
