"""Markdown for a pull-request comment or a job summary: counts by rule and severity, the money at
stake, and the top findings linked to their lines.

Everything taken from a template or an account is escaped: a message holding ``<unresolved>`` or
``${Endpoint}`` must read as written, a ``|`` must not split a table cell, an ``@name`` must not
notify anyone.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urljoin

from ..findings import SEVERITY_RANK
from . import SEVERITIES, checked, money, money_note, plural, tally
from .text import baseline_sentence, error_place

TOP = 20
"""Findings listed in full; the rest are counted (the HTML and SARIF reports hold them all)."""
_ICONS = {"error": "\U0001F534", "warning": "\U0001F7E0", "info": "\U0001F535"}
_SPECIAL = re.compile(r"([\\`*_\[\]<>|~@&$])")


def escape(value: str) -> str:
    """Text as inline Markdown (a table cell, a list item's text) that renders literally, on one line.

    Backslash-escaped: emphasis, code, links and images (``[`` ``]``), HTML and autolinks (``<`` ``>``),
    entities (``&``), table cells (``|``), strikethrough (``~``), mentions (``@``) and GitHub's math
    (``$``). What is special only at the start of a line (``#``, ``-``, ``1.``) cannot occur inline.
    """
    return _SPECIAL.sub(r"\\\1", " ".join(str(value).split()))


def render(report) -> str:
    summary = report.summary()
    findings = report.findings
    lines = [f"## sagewise {report.command}: {_headline(report, summary)}", ""]
    read = checked(report.counts)
    facts = [read] if read else []
    if summary.get("monthly_cost_usd"):
        facts.append(f"estimated monthly cost at stake: **{money(summary['monthly_cost_usd'])}**")
    if summary.get("monthly_savings_usd"):
        facts.append(f"savings available: **{money(summary['monthly_savings_usd'])}/month**")
    if facts:
        sentence = "; ".join(facts)
        lines += [sentence[0].upper() + sentence[1:] + ".", ""]
    if report.baseline is not None:
        lines += [f"Compared with the baseline {escape(report.baseline['file'])}:"
                  f"{baseline_sentence(report.baseline)}", ""]
    if findings:
        lines += _by_rule(findings, summary)
        lines += _top(report)
    if report.errors:
        lines += [f"### {plural(len(report.errors), 'input')} could not be read", ""]
        lines += [f"- {escape(error_place(error))}: {escape(error.message)}" for error in report.errors]
        lines.append("")
    return "\n".join(lines)


def _headline(report, summary: dict) -> str:
    if not report.findings:
        if report.errors:
            return "no findings, but some inputs could not be read"
        return "no new findings" if report.baseline is not None else "all checks passed"
    parts = [plural(summary["by_severity"][name], name) for name in SEVERITIES if summary["by_severity"][name]]
    new = " new" if report.baseline is not None else ""
    return f"{len(report.findings):,}{new} finding{'' if len(report.findings) == 1 else 's'} ({', '.join(parts)})"


def _by_rule(findings, summary: dict) -> list:
    """Findings per rule and severity, and their monthly cost where one is known; then the summary's totals."""
    costs = any(f.monthly_cost_usd for f in findings)
    header = "| rule | " + " | ".join(SEVERITIES) + " | findings |" + (" cost at stake / month |" if costs else "")
    lines = [header, "|---|" + "---:|" * (len(SEVERITIES) + 1) + ("---:|" if costs else "")]
    for (rule_id, rule_name), severities, cost in sorted(tally(findings, lambda f: (f.rule_id, f.rule_name)),
                                                         key=lambda row: row[0]):
        row = f"| {rule_id} `{rule_name}` | " + " | ".join(str(severities.get(name, 0)) for name in SEVERITIES)
        row += f" | {sum(severities.values())} |"
        if costs:
            row += f" {money(cost)} |"
        lines.append(row)
    totals = summary["by_severity"]
    row = "| **total** | " + " | ".join(str(totals[name]) for name in SEVERITIES) + f" | {summary['findings']} |"
    if costs:
        row += f" {money(summary['monthly_cost_usd'])} |"
    return lines + [row, ""]


def _top(report) -> list:
    ranked = sorted(report.findings, key=lambda f: (-SEVERITY_RANK[f.severity],
                                                    -(f.monthly_savings_usd or f.monthly_cost_usd or 0),
                                                    f.sort_key()))
    shown = ranked[:TOP]
    title = "Findings" if len(ranked) <= TOP else f"Top {TOP} findings"
    lines = [f"### {title}", "", "| | rule | where | finding |", "|---|---|---|---|"]
    for finding in shown:
        lines.append(f"| {_ICONS[finding.severity]} {finding.severity} | {finding.rule_id} | "
                     f"{_where(finding.location, report.link_base)} | {escape(finding.message)}{money_note(finding)} |")
    if len(ranked) > TOP:
        lines += ["", f"… and {len(ranked) - TOP} more (every finding is in the SARIF, JSON and HTML reports)."]
    return lines + [""]


def _where(location, link_base: str | None) -> str:
    if not location.file:
        return escape(location.resource or location.scope)
    label = escape(f"{location.file}:{location.line or 1}")
    if location.resource:
        label += f" {escape(location.resource)}"
    if not link_base:
        return label
    url = urljoin(link_base, quote(location.file)) + f"#L{location.line or 1}"
    return f"[{label}]({url})"


def github_link_base(environ, cwd: str) -> str | None:
    """The URL of ``cwd`` at the commit a GitHub Actions job checked out, for links to findings' lines.

    In a pull request the commit is the pull request's head (from the event payload): the merge commit
    the job runs on (``GITHUB_SHA``) is not one a reviewer can open. ``None`` outside the workspace or
    when the job's variables are missing.
    """
    import json
    import os

    server, repository = environ.get("GITHUB_SERVER_URL"), environ.get("GITHUB_REPOSITORY")
    workspace, sha = environ.get("GITHUB_WORKSPACE"), environ.get("GITHUB_SHA")
    try:
        with open(environ["GITHUB_EVENT_PATH"], encoding="utf-8") as handle:
            sha = json.load(handle)["pull_request"]["head"]["sha"]
    except (KeyError, TypeError, OSError, ValueError):
        pass  # not a pull request event: the commit checked out is GITHUB_SHA
    if not (server and repository and workspace and sha):
        return None
    relative = os.path.relpath(os.path.realpath(cwd), os.path.realpath(workspace))
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return None
    folder = "" if relative == os.curdir else quote(relative.replace(os.sep, "/")) + "/"
    return f"{server.rstrip('/')}/{repository}/blob/{sha}/{folder}"
