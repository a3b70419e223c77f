"""What a run produces: findings (a rule matched a resource) and errors (an input could not be read)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .model import Location

SEVERITY_RANK = {"info": 1, "warning": 2, "error": 3}


@dataclass
class Finding:
    rule_id: str
    rule_name: str
    severity: str
    message: str
    location: Location
    fix: dict | None = None
    """``{"safety": "safe" | "unsafe" | "manual", "summary": ...}`` from the rule, or None."""
    evidence: dict = field(default_factory=dict)
    """Measured figures behind a live finding (metric peaks, invocation counts)."""
    monthly_cost_usd: float | None = None
    monthly_savings_usd: float | None = None
    source: str = ""
    """The model source the finding came from (``cloudformation``, ``aws``...)."""
    subject: tuple = ()
    """(scope, resource, path) of the model object the finding is about, whatever field it points at:
    several findings on one object share its cost, which totals must count once."""
    model_object: object = field(default=None, repr=False, compare=False)
    """The model object the rule matched (what a fixer reads); ``None`` for the engine's own findings."""

    @property
    def identity(self) -> tuple:
        """What makes a finding the same finding: rule, scope, resource and property path."""
        location = self.location
        return (self.rule_id, location.scope, location.resource, location.path)

    @property
    def fingerprint(self) -> str:
        """Stable identity for baselines, as a hash of :attr:`identity`; never lines or text."""
        import hashlib  # deferred: only JSON and SARIF output need it, and OpenSSL's start-up is not free

        return hashlib.sha256("\x1f".join(self.identity).encode("utf-8")).hexdigest()[:32]

    def sort_key(self):
        location = self.location
        return (location.scope, location.line, location.column, self.rule_id, location.resource, location.path)


@dataclass
class InputError:
    """An input that could not be read (a file, or an account/region scope). Exit code 2."""

    message: str
    file: str | None = None
    line: int = 0
    column: int = 0
    account: str | None = None
    region: str | None = None

    def sort_key(self):
        return (self.file or "", self.account or "", self.region or "", self.line, self.column)
