"""GitHub Actions workflow commands: each finding becomes an annotation on the pull request's diff.

``::warning file=infra/churn.yaml,line=17,col=11,title=SW101 endpoint-without-autoscaling::message``,
grouped per file (``::group::``) so that the log folds, then the summary sentence of the text report.
Errors are ``::error``, warnings ``::warning``, info ``::notice``. A live finding has no file: its
annotation names the resource in the message. Data is escaped as the Actions toolkit does (``%``,
CR and LF; in properties also ``:`` and ``,``), so a message can never end the command early or start
another one.

The run's Markdown summary goes to ``$GITHUB_STEP_SUMMARY`` (:func:`append_step_summary`, called by
the CLI): rendering stays free of side effects.
"""

from __future__ import annotations

from collections import defaultdict

from .text import closing_line, error_place

COMMANDS = {"error": "error", "warning": "warning", "info": "notice"}


def escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def _command(kind: str, message: str, **properties) -> str:
    listed = ",".join(f"{name}={escape_property(str(value))}" for name, value in properties.items()
                      if value not in (None, ""))
    return f"::{kind}{' ' + listed if listed else ''}::{escape_data(message)}"


def _annotation(finding) -> str:
    location = finding.location
    title = f"{finding.rule_id} {finding.rule_name}"
    if location.file:
        message = f"{location.resource}: {finding.message}" if location.resource else finding.message
        return _command(COMMANDS[finding.severity], message, file=location.file, line=location.line or 1,
                        col=location.column or 1, title=title)
    return _command(COMMANDS[finding.severity], f"{location.resource or location.scope}: {finding.message}",
                    title=title)


def render(report) -> str:
    groups: dict = defaultdict(list)
    for finding in report.findings:
        groups[finding.location.file or finding.location.scope].append(_annotation(finding))
    for error in report.errors:
        if error.file:
            command = _command("error", error.message, file=error.file, line=error.line or None,
                               col=error.column or None, title="sagewise: input could not be read")
        else:
            command = _command("error", f"{error_place(error)}: {error.message}",
                               title="sagewise: input could not be read")
        groups[error.file or error_place(error)].append(command)
    lines = []
    for scope in sorted(groups):
        count = len(groups[scope])
        lines.append(f"::group::{escape_data(scope)} ({count} {'problem' if count == 1 else 'problems'})")
        lines += groups[scope]
        lines.append("::endgroup::")
    lines.append(closing_line(report))
    return "\n".join(lines) + "\n"


def append_step_summary(report, path: str) -> None:
    """Append the Markdown report to the job's summary file (``$GITHUB_STEP_SUMMARY``); raises ``OSError``."""
    from . import render as render_any

    with open(path, "a", encoding="utf-8") as handle:
        handle.write(render_any(report, "markdown") + "\n")
