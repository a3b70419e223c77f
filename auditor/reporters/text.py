"""Human output, one line per finding, as ruff prints it: ``file:line:col: SW101 [warning] message``."""

from __future__ import annotations

import click

from . import checked, money, money_note, plural

_SEVERITY_COLOR = {"error": "red", "warning": "yellow", "info": "blue"}


def where(location) -> str:
    if location.file:
        return f"{location.file}:{location.line or 1}:{location.column or 1}"
    return location.resource or location.scope


def _owner(location) -> str:
    """The logical ID a template finding belongs to (where an ignore of it goes), before its message."""
    return f"{location.resource}: " if location.file and location.resource else ""


def finding_line(finding, color: bool = False) -> str:
    """``file:line:col: SW101 [warning] Resource: message``, with what it costs or saves."""
    place = click.style(where(finding.location), bold=True) if color else where(finding.location)
    rule = click.style(finding.rule_id, fg=_SEVERITY_COLOR[finding.severity], bold=True) if color \
        else finding.rule_id
    return f"{place}: {rule} [{finding.severity}] {_owner(finding.location)}{finding.message}{money_note(finding)}"


def error_place(error) -> str:
    """Where an input error is: ``file:line:col``, or else its :func:`error_scope`."""
    if error.file and error.line:
        return f"{error.file}:{error.line}:{error.column or 1}"
    return error_scope(error)


def error_scope(error) -> str:
    """What an input error is about: the file, or ``account/region``."""
    return error.file or "/".join(part for part in (error.account, error.region) if part) or "sagewise"


def render(report) -> str:
    color = report.color
    lines = [finding_line(finding, color) for finding in report.findings]
    for error in report.errors:
        label = click.style("error", fg="red", bold=True) if color else "error"
        lines.append(f"{error_place(error)}: {label}: {error.message}")
    if report.fixes is not None:
        left = _not_applied(report)
        if report.fixes["findings"] or report.fixes["unsafe_available"] or left:
            lines.append(_fixed_line(report.fixes))
        lines.extend(left)
    lines.append(closing_line(report))
    return "\n".join(lines) + "\n"


def _not_applied(report) -> list[str]:
    """Why each reported finding whose rule has a fix was left as it is (baselined findings are not reported)."""
    shown = {finding.fingerprint for finding in report.findings}
    left = [f"  {entry['file']}:{entry['line']}:{entry['column']}: {entry['rule_id']}: {entry['reason']}"
            for entry in report.fixes.get("not_applied", ()) if entry["fingerprint"] in shown]
    if not left:
        return []
    return [f"{len(left)} finding{' was' if len(left) == 1 else 's were'} left as written, although the rule has "
            "a fix:", *left]


def _fixed_line(fixes: dict) -> str:
    count, files = fixes["findings"], fixes["files"]
    line = f"Fixed {count} finding{'' if count == 1 else 's'} in {files} file{'' if files == 1 else 's'}."
    if fixes["unsafe_available"]:
        line += f" {fixes['unsafe_available']} more can be fixed with --unsafe-fixes."
    return line


def closing_line(report) -> str:
    """The summary sentence that ends the text report (and the GitHub workflow-command log)."""
    summary = report.summary()
    read = checked(report.counts)
    if report.counts.get("skipped"):
        read += f", {report.counts['skipped']} skipped as not templates"
    read = f" ({read})" if read else ""
    if not report.findings:
        if report.errors:
            text = f"No findings{read}."
        elif report.baseline is not None:
            text = f"No new findings{read}."
        else:
            text = f"All checks passed!{read}"
    else:
        parts = [plural(count, name) for name, count in summary["by_severity"].items() if count]
        noun = "finding" if len(report.findings) == 1 else "findings"
        new = " new" if report.baseline is not None else ""
        text = f"Found {len(report.findings):,}{new} {noun} ({', '.join(parts)}){read}."
        if summary.get("monthly_savings_usd"):
            text += f" Estimated savings: {money(summary['monthly_savings_usd'])}/month."
    if report.baseline is not None:
        text += baseline_sentence(report.baseline)
    if report.errors:
        noun = "input" if len(report.errors) == 1 else "inputs"
        text += f" {len(report.errors)} {noun} could not be read."
    return text


def baseline_sentence(baseline: dict) -> str:
    """What the baseline hid and what of it is gone, as one or two sentences (with a leading space)."""
    unchanged, gone = baseline["unchanged"], baseline["gone"]
    text = f" {unchanged} baselined finding{'' if unchanged == 1 else 's'} not shown."
    if gone:
        text += (f" {gone} baselined finding{' is' if gone == 1 else 's are'} gone: update the baseline to drop "
                 f"{'it' if gone == 1 else 'them'}.")
    return text
