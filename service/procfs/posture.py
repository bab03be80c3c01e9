"""The container's security posture, as checks with evidence and a remedy, read from inside.

Every check reads files the container itself can read, through `Host` (under a
root that tests can move), and reports `pass`, `fail`, or `unknown` when its
evidence cannot be read. Evidence names the file and the value read, never more:
no other file contents and no environment variable goes into a report. What
cannot be seen from inside is listed as such (`NOT_OBSERVABLE`), never passed.
"""

import enum
from dataclasses import asdict, astuple, dataclass, replace
from pathlib import Path
from typing import Any

from service.procfs import (
    checks_escapes,
    checks_filesystem,
    checks_isolation,
    checks_limits,
    checks_process,
)
from service.procfs.host import Host, Unreadable
from service.procfs.rules import RULES, Remedy, Rule
from service.procfs.runtime import Runtime
from service.procfs.self_probes import LIVE, Probes

# the process first, then what it can reach, then its limits, then the rest;
# within a module, the order the rules are declared in
CHECK_MODULES = (checks_process, checks_filesystem, checks_escapes, checks_limits, checks_isolation)
MODULES = [module.__name__ for module in CHECK_MODULES]
ORDERED_RULES = sorted(RULES, key=lambda rule: (not rule.required,
                                                MODULES.index(rule.decide.__module__)))  # fmt: skip

# what privileged mode brings by itself, whatever else the container was given
PRIVILEGED_EFFECTS = frozenset((
    "no-capabilities-beyond-default", "no-capabilities", "seccomp-filter", "no-host-devices",
    "cgroup-read-only", "no-writable-kernel-interfaces",
))  # fmt: skip

__all__ = ["NOT_OBSERVABLE", "ORDERED_RULES", "RULES", "Check", "Report", "Status", "assess"]


class Status(enum.StrEnum):
    PASS = "pass"  # noqa: S105 (a verdict, not a password)
    FAIL = "fail"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    status: Status
    evidence: str
    reference: str
    reference_url: str
    required: bool
    remedy: Remedy


@dataclass(frozen=True)
class Unobservable:
    """A CIS recommendation no file inside the container can show, and how to check it."""

    reference: str
    title: str
    check_from_host: str


# CIS Docker Benchmark v1.6, section 5: what only the host (or the engine) knows
NOT_OBSERVABLE = (
    Unobservable("5.7", "Privileged ports are not mapped within containers",
                 "docker port CONTAINER (no host port below 1024)"),
    Unobservable("5.13", "Incoming traffic is bound to a specific host interface",
                 "docker port CONTAINER (no 0.0.0.0)"),
    Unobservable("5.14", "The 'on-failure' restart policy is set to 5",
                 "docker inspect -f '{{.HostConfig.RestartPolicy}}' CONTAINER"),
    Unobservable("5.16, 5.20", "The IPC and UTS namespaces are not another container's "
                 "(own-ipc-namespace and own-uts-namespace see only the host's)",
                 "docker inspect -f '{{.HostConfig.IpcMode}} {{.HostConfig.UTSMode}}' CONTAINER"),
    Unobservable("5.22", "docker exec is not used with the privileged option",
                 "the engine's audit log of exec calls"),
    Unobservable("5.23", "docker exec is not used with the user root",
                 "the engine's audit log of exec calls"),
    Unobservable("5.26", "The container's health is checked at runtime",
                 "docker inspect -f '{{.State.Health.Status}}' CONTAINER"),
    Unobservable("5.27", "Docker commands always use the latest version of their image",
                 "docker compose pull, or a pinned digest"),
    Unobservable("5.29", "Docker's default bridge docker0 is not used",
                 "docker inspect -f '{{.HostConfig.NetworkMode}}' CONTAINER"),
    Unobservable("5.30", "The host's user namespaces are not shared",
                 "docker inspect -f '{{.HostConfig.UsernsMode}}' CONTAINER"),
)  # fmt: skip


@dataclass(frozen=True)
class Counts:
    passed: int
    failed: int
    unknown: int

    @classmethod
    def of(cls, checks: list[Check]) -> "Counts":
        return cls(*(sum(check.status is status for check in checks) for status in Status))


@dataclass(frozen=True)
class Report:
    checks: list[Check]
    not_observable: tuple[Unobservable, ...]
    runtime: Runtime

    @property
    def required(self) -> Counts:
        return Counts.of([check for check in self.checks if check.required])

    @property
    def advisory(self) -> Counts:
        return Counts.of([check for check in self.checks if not check.required])

    def to_json(self) -> dict[str, Any]:
        """The report as the JSON view answers it (openapi.json's PostureReport)."""
        counts = {"required": self.required, "advisory": self.advisory}
        return {
            "runtime": {
                "name": self.runtime.name,
                "kernel": self.runtime.kernel,
                "evidence": self.runtime.evidence,
            },
            "checks": [asdict(check) for check in self.checks],
            "summary": {
                kind: {"pass": count.passed, "fail": count.failed, "unknown": count.unknown}
                for kind, count in counts.items()
            },
            "not_observable": [asdict(item) for item in self.not_observable],
        }


def run_check(rule: Rule, host: Host) -> Check:
    remedy = rule.remedy
    try:
        passed, evidence, *tailored = rule.decide(host)
        status = Status.PASS if passed else Status.FAIL
        remedy = tailored[0] if tailored else remedy
    except Unreadable as error:
        status, evidence = Status.UNKNOWN, str(error)
    except (ValueError, IndexError, KeyError, ArithmeticError):
        status, evidence = Status.UNKNOWN, "the file could not be parsed"
    except OSError as error:
        # a file that went or a folder this process may not search, met on the way
        status, evidence = Status.UNKNOWN, f"{error.filename}: {error.strerror}"
    return Check(rule.id, rule.title, status, evidence, rule.reference, rule.url, rule.required,
                 remedy)  # fmt: skip


def blame_privileged_mode(checks: list[Check]) -> list[Check]:
    """Where privileged mode is on, it is the cause of what it brings: each such failure
    gets not-privileged's remedy, not one the container already follows (`--cap-drop ALL`
    does not empty a privileged container's bounding set)."""
    privileged = next(check for check in checks if check.id == "not-privileged")
    if privileged.status is not Status.FAIL:
        return checks
    cause = Remedy(*(f"{text}: the cause here" for text in astuple(privileged.remedy)))
    return [replace(check, remedy=cause)
            if check.id in PRIVILEGED_EFFECTS and check.status is Status.FAIL else check
            for check in checks]  # fmt: skip


def assess(
    root: Path,
    server_pid: int,
    expected_ports: frozenset[int] = frozenset(),
    probes: Probes = LIVE,
) -> Report:
    """Every check, in order, on the files under `root`, about process `server_pid`;
    `probes` ask the kernel what no file shows (tests give their own)."""
    host = Host(root, server_pid, expected_ports, probes)
    checks = [run_check(rule, host) for rule in ORDERED_RULES]
    return Report(blame_privileged_mode(checks), NOT_OBSERVABLE, host.runtime)
