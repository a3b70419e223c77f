"""How a failed AWS call reads, and which failures mean "gone" or "not allowed".

The audit reports every failure as one line: the operation, AWS's error code and message, and a
hint where the cause is usually the same (permissions, an opt-in region, expired credentials, a
proxy answering instead of AWS). The scheduler (:mod:`auditor.audit`) uses it for a scope or an
account that could not be read, the live source (:mod:`auditor.sources.aws`) for one resource.

This module imports botocore; the lint path never imports it.
"""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from botocore.parsers import ResponseParserError

OPERATION = "sagewise_operation"
"""Attribute the audit's clients set on an exception raised while a call was made: the operation.
botocore's own exceptions (a parse error, a timeout) do not say which call failed; ClientError does."""
MAX_LENGTH = 300
"""A message is one line; a proxy's HTML page or a parser's dump of the body is cut here."""

DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})
_GONE_CODES = frozenset({"ResourceNotFound", "ResourceNotFoundException"})
_EC2_GONE_SUFFIXES = (".NotFound", ".NotFoundException", ".VersionNotFound")
"""EC2 names a missing resource in a dotted code: ``InvalidLaunchTemplateId.NotFound``,
``InvalidLaunchTemplateName.NotFoundException``, ``InvalidLaunchTemplateId.VersionNotFound``."""
_PERMISSIONS = "the audit needs the permissions `sagewise iam-policy` prints"
_NOT_AWS = "is AWS_ENDPOINT_URL or a proxy answering instead of AWS?"
_HINTS = {
    **{code: _PERMISSIONS for code in DENIED_CODES},
    "UnrecognizedClientException": "is this opt-in region enabled for the account?",
    "InvalidClientTokenId": "is this opt-in region enabled for the account?",
    "ExpiredToken": "the credentials have expired; refresh them",
    "ExpiredTokenException": "the credentials have expired; refresh them",
    "RequestExpired": "the credentials have expired; refresh them",
}


class UnexpectedResponse(Exception):
    """A successful HTTP answer that cannot be AWS's: an HTML page or an empty body.

    botocore would parse either into an empty result (a JSON API) or fail on a missing key (a query
    API), so a proxy or a wrong ``AWS_ENDPOINT_URL`` would make an account look empty.
    """


def is_gone(exc: ClientError) -> bool:
    """True when the resource no longer exists (deleted between listing and describing).

    SageMaker answers a name it does not know with a ``ValidationException`` whose message starts
    "Could not find"; any other ``ValidationException`` is a real error and must not hide as "gone".
    """
    error = exc.response.get("Error", {})
    code = error.get("Code")
    if code in _GONE_CODES or str(code).endswith(_EC2_GONE_SUFFIXES):
        return True
    return code == "ValidationException" and "could not find" in (error.get("Message") or "").lower()


def is_denied(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in DENIED_CODES


GONE = "gone"
REFUSED = "refused"


def resource_fault(exc: ClientError) -> str | None:
    """What a failed read of one listed resource means for the scope reading it.

    :data:`GONE`: deleted since it was listed, skipped silently. :data:`REFUSED`: access to this one resource
    denied (a name- or tag-scoped policy), or a ``ValidationException`` other than "could not find": an error
    of the scope, whose other resources are still read. ``None``: anything else (throttling beyond the
    retries, expired credentials), which the caller re-raises to fail the scope.
    """
    if is_gone(exc):
        return GONE
    if is_denied(exc) or exc.response.get("Error", {}).get("Code") == "ValidationException":
        return REFUSED
    return None


def explain(exc: BaseException, resource: str | None = None) -> str:
    """One line for a failure: ``Operation [resource]: Code: message (hint)``."""
    if isinstance(exc, ClientError):
        operation = exc.operation_name
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or "Unknown")
        message = _one_line(error.get("Message") or "")
        if code.isdigit():  # no AWS error body: the HTTP status is all botocore had
            text, hint = f"HTTP {code}" + (f" {message}" if message else ""), _NOT_AWS
        else:
            text, hint = f"{code}: {message}", _HINTS.get(code)
    else:
        operation = getattr(exc, OPERATION, None)
        text, hint = _one_line(str(exc)), _hint(exc)
        if not isinstance(exc, (BotoCoreError, ResponseParserError, UnexpectedResponse)):
            text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    head = " ".join(part for part in (operation, resource) if part)
    line = f"{head}: {text}" if head else text
    if hint:
        line = f"{line} ({hint})"
    return line if len(line) <= MAX_LENGTH else line[:MAX_LENGTH - 3] + "..."


def _hint(exc: BaseException) -> str | None:
    if isinstance(exc, (ResponseParserError, UnexpectedResponse)):
        return _NOT_AWS
    if isinstance(exc, ReadTimeoutError):
        return "no answer within the read timeout (--read-timeout)"
    if isinstance(exc, ConnectTimeoutError):
        return "no connection within the connect timeout (--connect-timeout)"
    if isinstance(exc, EndpointConnectionError):
        return "is the network, the region or AWS_ENDPOINT_URL right?"
    return None


def _one_line(text: str) -> str:
    return " ".join(text.split("\n", 1)[0].split())
