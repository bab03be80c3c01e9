"""How a posture check is declared: a function, and beside it what it is and how to fix it.

    @rule(id="no-new-privileges", title=..., reference=..., url=..., remedy=Remedy(...))
    def no_new_privileges(host: Host) -> Verdict: ...

The decorator adds the rule to RULES in the order the modules declare them.
"""

from collections.abc import Callable
from dataclasses import dataclass

from service.procfs.host import Host

CIS = "CIS Docker Benchmark v1.6"
PSS_URL = "https://kubernetes.io/docs/concepts/security/pod-security-standards/"
OWASP_URL = "https://cheatsheetseries.owasp.org/cheatsheets/Docker_Security_Cheat_Sheet.html"
CIS_URL = "https://www.cisecurity.org/benchmark/docker"


@dataclass(frozen=True)
class Remedy:
    """What makes the check pass: in compose, on `docker run`, in a Kubernetes pod."""

    compose: str
    docker_run: str
    kubernetes: str


# passed, and the evidence: the file read and the value found; and where a failure's
# remedy depends on what was found (which runtime's socket), that remedy
Verdict = tuple[bool, str] | tuple[bool, str, Remedy]
Decide = Callable[[Host], Verdict]


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    reference: str
    url: str
    remedy: Remedy
    required: bool
    decide: Decide


RULES: list[Rule] = []


def rule(
    *, id: str, title: str, reference: str, url: str, remedy: Remedy, required: bool = True
) -> Callable[[Decide], Decide]:
    """Declare the decorated function as the check `id`."""

    def register(decide: Decide) -> Decide:
        if any(known.id == id for known in RULES):
            raise ValueError(f"two checks are named {id}")
        RULES.append(Rule(id, title, reference, url, remedy, required, decide))
        return decide

    return register
