"""JUnit XML, as Jenkins, GitLab and the GitHub test-report actions read it (the Ant/Surefire layout).

One ``<testsuite>`` per file (lint) or ``account/region`` scope (audit), one ``<testcase>`` per
rule in it, named ``SW101 endpoint-without-autoscaling`` with the file as ``classname``. A rule that
found something fails with one ``<failure>`` listing each finding (a test case holds at most one
failure in the Surefire schema); an input that could not be read is a test case ``read`` with an
``<error>``. Every file checked gets its test cases, so a clean run shows as passing tests rather than
as no tests. Times are 0: sagewise does not time its rules.
"""

from __future__ import annotations

import re
from xml.etree import ElementTree
from collections import defaultdict

from ..findings import SEVERITY_RANK
from .text import error_place, error_scope, finding_line

_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""Characters XML 1.0 cannot hold even escaped (a JSON template may spell ``\\u0001``)."""


def _xml_text(value: str) -> str:
    return _NOT_XML.sub("\ufffd", value)


def _scope_of(location) -> str:
    return location.file or location.scope


def _rules_for(report) -> list:
    """The rules that could have run over what the command reads (lint: templates; audit: accounts)."""
    if report.command == "audit":
        wanted = [rule for rule in report.rules if "aws" in rule.sources]
    else:
        wanted = [rule for rule in report.rules if set(rule.sources) - {"aws"}]
    return sorted({rule.id: rule for rule in wanted}.values(), key=lambda rule: rule.id)


def render(report) -> str:
    findings: dict = defaultdict(lambda: defaultdict(list))
    for finding in report.findings:
        findings[_scope_of(finding.location)][finding.rule_id].append(finding)
    errors: dict = defaultdict(list)
    for error in report.errors:
        errors[error_scope(error)].append(error)
    checked = list(report.checked or ())
    scopes = sorted(set(checked) | set(findings) | set(errors))
    if not scopes and report.checked is None:  # a clean report that does not say what it read
        scopes = [f"sagewise {report.command}"]
    rules = _rules_for(report)
    names = {rule.id: rule.name for rule in rules}
    names.update((finding.rule_id, finding.rule_name) for finding in report.findings)

    root = ElementTree.Element("testsuites", name=f"sagewise {report.command}")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for scope in scopes:
        suite = ElementTree.SubElement(root, "testsuite", name=_xml_text(scope))
        counts = {"tests": 0, "failures": 0, "errors": 0}
        judged = scope in checked or scope in findings or report.checked is None and scope not in errors
        rule_ids = sorted(set(names) if judged else set(findings[scope]))
        for rule_id in rule_ids:
            case = ElementTree.SubElement(suite, "testcase", name=f"{rule_id} {names[rule_id]}",
                                          classname=_xml_text(scope), time="0")
            counts["tests"] += 1
            found = findings[scope].get(rule_id)
            if found:
                counts["failures"] += 1
                worst = max(found, key=lambda f: SEVERITY_RANK[f.severity]).severity
                message = found[0].message + (f" (and {len(found) - 1} more)" if len(found) > 1 else "")
                failure = ElementTree.SubElement(case, "failure", message=_xml_text(message), type=worst)
                failure.text = _xml_text("\n".join(finding_line(f) for f in found) + "\n")
        for error in errors.get(scope, ()):
            case = ElementTree.SubElement(suite, "testcase", name="read", classname=_xml_text(scope), time="0")
            counts["tests"] += 1
            counts["errors"] += 1
            element = ElementTree.SubElement(case, "error", message=_xml_text(error.message), type="input-error")
            element.text = _xml_text(f"{error_place(error)}: error: {error.message}\n")
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        suite.set("skipped", "0")
        suite.set("time", "0")
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", "0")
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"

