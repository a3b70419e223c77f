"""The clients ``remediate --apply`` and ``undo`` change accounts through, behind their own guard.

They are opened the audit's way (:func:`auditor.audit.open_scopes`: the caller's credentials for its
own account, ``--role-name`` elsewhere, refreshable sessions, timeouts), but their guard allows exactly
:data:`auditor.iam.REMEDIATE_ACTIONS`: the fixes' writes and the reads that check them, nothing else.
The audit's read-only guard never sees a write.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import iam
from ..audit import AuditOptions, CallRecorder, open_scopes

@dataclass
class Credentials:
    """How to reach the accounts: the audit's credential options, without what chooses scopes."""

    profile: str | None = None
    role_name: str | None = None
    external_id: str | None = None
    role_session_name: str = "sagewise-remediate"
    duration_seconds: int | None = None
    max_attempts: int = 5
    connect_timeout: float = AuditOptions.connect_timeout
    read_timeout: float = AuditOptions.read_timeout


def guard() -> CallRecorder:
    return CallRecorder(iam.REMEDIATE_ACTIONS, "sagewise remediate only makes the calls of its fixes and refused")


def open_clients(scopes: list, credentials: Credentials) -> tuple[dict, dict]:
    """(account, region) -> clients for each scope, and (account, region) -> why a scope cannot be reached.

    Raises :class:`auditor.audit.AuditError` when nothing can start (no credentials, an unknown profile).
    """
    options = AuditOptions(profile=credentials.profile, regions=tuple(sorted({region for _, region in scopes})),
                           accounts=tuple(sorted({account for account, _ in scopes})),
                           role_name=credentials.role_name, external_id=credentials.external_id,
                           role_session_name=credentials.role_session_name,
                           duration_seconds=credentials.duration_seconds, max_attempts=credentials.max_attempts,
                           connect_timeout=credentials.connect_timeout, read_timeout=credentials.read_timeout)
    clients, errors = open_scopes(options, guard())
    unreachable = {}
    for error in errors:
        for scope in scopes:
            if error.account in (None, scope[0]) and error.region in (None, scope[1]):
                unreachable.setdefault(scope, error.message)
    return {scope: clients[scope] for scope in scopes if scope in clients}, unreachable
