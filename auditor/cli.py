"""The ``sagewise`` command line. Commands parse options and call into the package; nothing else."""

from __future__ import annotations

import json
import os
import re
import sys
import threading

import click

from . import __version__
from . import config as configuration
from . import constants
from . import rules as rule_files
from .findings import SEVERITY_RANK
from .reporters import FORMATS, Report, render
from .writing import WriteError, write_output

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
EXIT_INTERRUPTED = 130
"""128 + SIGINT, as shells report a command stopped with Ctrl-C."""


class UsageProblem(click.ClickException):
    """A configuration, rule-file or usage problem: printed as one line, exit code 2."""

    exit_code = EXIT_ERROR

    def show(self, file=None):
        click.echo(f"sagewise: error: {self.format_message()}", err=True)


def _split(values) -> list:
    return [part.strip() for value in values or () for part in value.split(",") if part.strip()]


def _given(ctx, names) -> list:
    """The options among ``names`` given on the command line (or in the environment), as they are spelt."""
    return [param.opts[0] for param in ctx.command.params if param.name in names
            and ctx.get_parameter_source(param.name) not in (None, click.core.ParameterSource.DEFAULT)]


def _with(function, options: list):
    """``function`` with ``options`` (option decorators), which list in this order in its help."""
    for option in reversed(options):
        function = option(function)
    return function


def report_options(function):
    """Options of the report: its format, where it goes, what fails the run (``lint``, ``fix``, ``audit``,
    ``merge``)."""
    return _with(function, [
        click.option("--format", "output_format", type=click.Choice(FORMATS), default="text", show_default=True,
                     help="Output format."),
        click.option("--output", "-o", type=click.Path(dir_okay=False),
                     help="Write the report to FILE instead of standard output."),
        click.option("--output-dir", type=click.Path(file_okay=False),
                     help="Also write the report in every file format to DIR (json, sarif, junit, markdown, html)."),
        click.option("--fail-on", type=click.Choice(configuration.FAIL_ON), default=None,
                     help="Lowest severity that makes the exit code 1 [default: warning]."),
    ])


def selection_options(function):
    """Options shared by ``lint``, ``fix`` and ``audit``: :func:`report_options`, the baseline, and
    :func:`rule_options`."""
    return _with(function, [
        report_options,
        click.option("--baseline", type=click.Path(dir_okay=False),
                     help="Report and fail only on findings not in this baseline (see `sagewise baseline`)."),
        rule_options,
    ])


def rule_options(function):
    """Options that choose the rules, and :func:`config_options` (every command that runs rules)."""
    return _with(function, [
        click.option("--select", multiple=True, metavar="RULES",
                     help="Rules to run (ids, names or id prefixes like SW1; comma-separated). Replaces the default."),
        click.option("--extend-select", multiple=True, metavar="RULES", help="Rules to run in addition."),
        click.option("--ignore", multiple=True, metavar="RULES", help="Rules not to run."),
        config_options,
    ])


def config_options(function):
    """Options that read the configuration and the rule files (every command that needs the rules)."""
    return _with(function, [
        click.option("--config", "config_file", type=click.Path(dir_okay=False),
                     help="Configuration file (YAML, or TOML with [tool.sagewise] in pyproject.toml)."),
        click.option("--isolated", is_flag=True, help="Ignore configuration files."),
        click.option("--rules-dir", multiple=True, type=click.Path(file_okay=False),
                     help="Directory of additional rule files (repeatable)."),
    ])


class Run:
    """What every command that runs rules or reports shares (lint, fix, audit, baseline, merge, remediate): the
    configuration, the selected rules and their settings, and how to report."""

    def __init__(self, *, config_file, isolated, select, extend_select, ignore, fail_on, rules_dir, baseline=None,
                 output_dir=None):
        try:
            self.config = configuration.Config() if isolated else configuration.load(config_file)
            extra = list(self.config.extra_rules) + list(rules_dir)
            self.all_rules = rule_files.load_rules(extra)
            self._check_config_selectors()
            chosen = _split(select) or self.config.select
            extend = self.config.extend_select + _split(extend_select)
            ignored = self.config.ignore + _split(ignore)
            named = _split(select) + _split(extend_select) + _split(ignore)
            unknown = rule_files.unknown_selectors(self.all_rules, named)
            if unknown:
                raise UsageProblem(f"unknown rule selector(s): {', '.join(unknown)} (see `sagewise rules`)")
            self.rules = rule_files.select(self.all_rules, select=chosen, extend_select=extend, ignore=ignored)
            self.params, self.severities = configuration.rule_settings(self.config, self.all_rules)
        except (configuration.ConfigError, rule_files.RuleError) as exc:
            raise UsageProblem(str(exc)) from None
        self.fail_on = fail_on or self.config.fail_on
        self.output_dir = output_dir
        self.baseline = None
        if baseline:  # read before the run: a bad baseline must not cost an audit first
            from . import baseline as baselines

            try:
                self.baseline = baselines.load(baseline)
            except baselines.BaselineError as exc:
                raise UsageProblem(str(exc)) from None

    def lint(self, paths, exclude=(), fixing=None):
        """Lint ``paths`` (default: the working directory) as the configuration says, skipping ``exclude`` too."""
        from .lint import lint_paths

        return lint_paths(
            paths or (".",),
            self.rules,
            params=self.params,
            severities=self.severities,
            exclude=list(self.config.exclude) + list(exclude),
            per_path_ignores=self.config.per_path_ignores,
            root=self.config.root,
            known_rules=self.all_rules,
            fixing=fixing,
        )

    def all_params(self) -> dict:
        """Rule id -> parameters with the configuration's overrides, for every rule (fixes read them)."""
        return {rule.id: {**rule.default_params(), **self.params.get(rule.id, {})} for rule in self.all_rules}

    def _check_config_selectors(self) -> None:
        """A typo in the configuration must not silently select or ignore nothing."""
        config = self.config
        listed = [("select", config.select or []), ("extend-select", config.extend_select), ("ignore", config.ignore)]
        listed += [(f"per-path-ignores.{glob}", selectors) for glob, selectors in config.per_path_ignores.items()]
        for key, selectors in listed:
            unknown = rule_files.unknown_selectors(self.all_rules, selectors)
            if unknown:
                raise UsageProblem(f"{config.path}: {key}: unknown rule selector(s): {', '.join(unknown)}")

    def finish(self, report: Report, output_format: str, output: str | None, *, checked_scopes=None,
               baseline_out: str | None = None) -> None:
        """Record, compare with the baseline, render, write, exit.

        ``checked_scopes`` (the files a lint read, as fingerprints name them, or the ``account/region`` scopes
        an audit read) limits which baseline entries can be gone; ``baseline_out`` records every finding of
        the run before the baseline hides any.
        """
        if baseline_out:
            _write_baseline(baseline_out, report.findings, report.errors)
        if self.baseline is not None:
            from . import baseline as baselines

            comparison = baselines.compare(self.baseline, report.findings, checked_scopes)
            report.findings = comparison.new
            report.baseline = comparison.summary(self.baseline)
        if "GITHUB_ACTIONS" in os.environ:
            from .reporters.markdown import github_link_base

            report.link_base = github_link_base(os.environ, os.getcwd())
        report.color = output is None and output_format == "text" and sys.stdout.isatty() \
            and "NO_COLOR" not in os.environ
        text = render(report, output_format)
        try:
            if self.output_dir:
                from .reporters import write_all

                write_all(report, self.output_dir)
            if output:
                write_output(output, text)
        except WriteError as exc:
            raise UsageProblem(str(exc)) from None
        if not output:
            click.echo(text, nl=False)
        if output_format == "github" and os.environ.get("GITHUB_STEP_SUMMARY"):
            from .reporters.github import append_step_summary

            try:
                append_step_summary(report, os.environ["GITHUB_STEP_SUMMARY"])
            except OSError as exc:
                click.echo(f"sagewise: warning: cannot write the job summary to $GITHUB_STEP_SUMMARY: "
                           f"{exc.strerror or exc}", err=True)
        sys.exit(self.exit_code(report))

    def exit_code(self, report: Report) -> int:
        if report.errors:
            return EXIT_ERROR
        if self.fail_on == "never":
            return EXIT_OK
        threshold = SEVERITY_RANK[self.fail_on]
        return EXIT_FINDINGS if any(SEVERITY_RANK[f.severity] >= threshold for f in report.findings) else EXIT_OK


def _run_options(kwargs) -> dict:
    return {name: kwargs.pop(name) for name in
            ("config_file", "isolated", "select", "extend_select", "ignore", "fail_on", "rules_dir", "baseline",
             "output_dir")}


def _write_baseline(path: str, findings: list, errors: list) -> bool:
    """Write the baseline of ``findings`` to ``path``, and say whether it was written: not when an input could
    not be read, since what it held would be missing and later reported as new."""
    from . import baseline as baselines

    if errors:
        noun = "input" if len(errors) == 1 else "inputs"
        click.echo(f"sagewise: error: {path} was not written: {len(errors)} {noun} could not be read, and "
                   "their findings would be missing from the baseline", err=True)
        return False
    try:
        write_output(path, baselines.dumps(findings))
    except WriteError as exc:
        raise UsageProblem(str(exc)) from None
    return True


class _Commands(click.Group):
    """The command group; Ctrl-C ends any command at once with exit code 130 and one line, no traceback
    (click's own handling prints "Aborted!" and exits 1, which CI cannot tell from "findings")."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("sagewise: interrupted", err=True)
            if threading.active_count() > 1:
                # Worker threads (an audit's) may be waiting on a network read; the interpreter would join
                # them at exit, for up to the read timeout. Nothing is left to write: leave now.
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(EXIT_INTERRUPTED)
            sys.exit(EXIT_INTERRUPTED)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="sagewise")
def main():
    """Find, explain and fix cost and scaling problems in SageMaker infrastructure.

    \b
    sagewise lint templates/          check CloudFormation/SAM, Step Functions and pipeline files
    sagewise fix templates/           apply the safe fixes to those files (--diff to preview)
    sagewise audit --all-regions      check live accounts, with CloudWatch evidence
    sagewise remediate --plan-out p   plan fixes of live findings; apply with --apply p
    sagewise rules                    list the rules
    sagewise explain SW101            what a rule checks, why, and how to fix it
    """


def fix_options(function):
    """Options of ``fix`` (and of ``lint``, where ``--fix`` turns them on)."""
    return _with(function, [
        click.option("--unsafe-fixes", is_flag=True,
                     help="Also apply unsafe fixes (instance type changes; lint: with --fix or --diff); see the FIX "
                          "column of `sagewise rules`."),
        click.option("--diff", is_flag=True,
                     help="Print the fixes as a unified diff and change nothing: exit 1 when there is one, whatever "
                          "the fail-on setting. No report, so not with --format, --output, --output-dir, --baseline "
                          "or --fail-on."),
    ])


_REPORT_ONLY = ("output_format", "output", "output_dir", "baseline", "fail_on")
"""Options of the report, which ``--diff`` does not write: refused with it rather than silently ignored."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(readable=False))  # an unreadable file is that file's error
@selection_options
@click.option("--exclude", multiple=True, metavar="GLOB", help="Skip files and directories matching GLOB.")
@click.option("--fix", is_flag=True, help="Apply the safe fixes in place (the same as `sagewise fix`).")
@fix_options
@click.pass_context
def lint(ctx, paths, output_format, output, exclude, fix, unsafe_fixes, diff, **kwargs):
    """Check templates and definitions in PATHS (files or directories; default: .).

    Exit status: 0 when nothing at or above --fail-on was found, 1 when something was,
    2 when an input could not be read or the options or configuration are invalid.
    """
    if unsafe_fixes and not (fix or diff):
        raise UsageProblem("--unsafe-fixes goes with --fix or --diff")
    _lint(ctx, paths, output_format, output, exclude, kwargs, fix=fix or diff, unsafe=unsafe_fixes, diff=diff)


@main.command("fix")
@click.argument("paths", nargs=-1, type=click.Path(readable=False))
@selection_options
@click.option("--exclude", multiple=True, metavar="GLOB", help="Skip files and directories matching GLOB.")
@fix_options
@click.pass_context
def fix_command(ctx, paths, output_format, output, exclude, unsafe_fixes, diff, **kwargs):
    """Apply the fixes of the findings in PATHS, in place, then report what remains.

    Edits are minimal: everything a fix does not change stays byte for byte, each file is
    written atomically and only if it did not change meanwhile. Safe fixes only, unless
    --unsafe-fixes. Exit status as for lint, on what remains; with --diff, 1 when a fix is shown.
    """
    _lint(ctx, paths, output_format, output, exclude, kwargs, fix=True, unsafe=unsafe_fixes, diff=diff)


def _lint(ctx, paths, output_format, output, exclude, kwargs, *, fix: bool, unsafe: bool, diff: bool) -> None:
    if diff and _given(ctx, _REPORT_ONLY):
        raise UsageProblem("--diff prints the fixes, not a report: it does not go with "
                           f"{', '.join(_given(ctx, _REPORT_ONLY))}")
    run = Run(**_run_options(kwargs))
    fixing = None
    if fix:
        from .fixers.apply import FixOptions

        fixing = FixOptions(unsafe=unsafe, write=not diff, params=run.all_params())
    result = run.lint(paths, exclude, fixing)
    if diff:
        _print_diff(result)
        sys.exit(EXIT_ERROR if result.errors else (EXIT_FINDINGS if result.fixed else EXIT_OK))
    report = Report("lint", result.findings, result.errors, run.rules,
                    counts={"files": result.files, "skipped": result.skipped}, checked=list(result.checked))
    if fixing is not None:
        report.fixes = {"findings": sum(outcome.resolved for _, outcome in result.fixed),
                        "files": len(result.fixed), "unsafe_available": result.unsafe_available,
                        "applied": [{"file": shown, "rule_id": fix.finding.rule_id,
                                     "resource": fix.finding.location.resource, "description": fix.description}
                                    for shown, outcome in result.fixed for fix in outcome.applied],
                        "not_applied": [_not_applied(shown, finding, why)
                                        for shown, finding, why in result.not_applied]}
    run.finish(report, output_format, output, checked_scopes=set(result.checked.values()))


def _not_applied(shown: str, finding, why: str) -> dict:
    """A finding left as it is although its rule has a fix, and why (the fix needs what the file does not say)."""
    return {"file": shown, "line": finding.location.line, "column": finding.location.column,
            "rule_id": finding.rule_id, "resource": finding.location.resource, "reason": why,
            "fingerprint": finding.fingerprint}


def _print_diff(result) -> None:
    from .reporters.text import error_place

    for shown, outcome in result.fixed:
        click.echo(outcome.diff(shown), nl=False)
    for error in result.errors:
        click.echo(f"{error_place(error)}: error: {error.message}", err=True)
    for shown, finding, why in result.not_applied:
        click.echo(f"{shown}:{finding.location.line}:{finding.location.column}: {finding.rule_id} not fixed: {why}",
                   err=True)
    fixes = sum(outcome.resolved for _, outcome in result.fixed)
    noun = "finding" if fixes == 1 else "findings"
    line = f"Would fix {fixes} {noun} in {len(result.fixed)} file{'' if len(result.fixed) == 1 else 's'}"
    if result.unsafe_available:
        line += f" ({result.unsafe_available} more with --unsafe-fixes)"
    click.echo(line + ".", err=True)


def _matching(pattern: str | None, what: str):
    """A click callback refusing an empty value, or one that does not match ``pattern``, with one line."""

    def check(ctx, param, value):
        for item in value if isinstance(value, tuple) else (value,):
            if item is None:
                continue
            if not item.strip() or (pattern and not re.fullmatch(pattern, item)):
                raise UsageProblem(f"{param.opts[0]} {item!r} is not {what}")
        return value

    return check


def _check_role_options(kwargs) -> None:
    """Refuse what only an assumed role can use without --role-name (``kwargs``: a command's options, among
    them ``--account`` and ``--organization`` when it has them)."""
    if kwargs["role_name"]:
        return
    if kwargs.get("accounts") or kwargs.get("organization"):
        raise UsageProblem("--account and --organization need --role-name")
    if kwargs["external_id"] or kwargs["duration_seconds"]:
        raise UsageProblem("--external-id and --duration-seconds apply to assumed roles: pass --role-name")


@main.command()
@selection_options
@click.option("--profile", callback=_matching(None, "a profile name"),
              help="AWS profile to use (default: the standard credential chain).")
@click.option("--region", "regions", multiple=True, callback=_matching(r"[a-z0-9-]+", "a region name"),
              help="Region to audit (repeatable; default: the session's).")
@click.option("--all-regions", is_flag=True, help="Audit every region enabled for each account.")
@click.option("--account", "accounts", multiple=True,
              callback=_matching(constants.ACCOUNT_PATTERN, "a 12-digit account ID"),
              help="Account to audit (repeatable): your own with your credentials, others through --role-name.")
@click.option("--organization", is_flag=True,
              help="Audit every active account of the organization (yours with your credentials, the rest "
                   "through --role-name).")
@click.option("--exclude-account", "exclude_accounts", multiple=True,
              callback=_matching(constants.ACCOUNT_PATTERN, "a 12-digit account ID"),
              help="Account not to audit (repeatable).")
@click.option("--role-name", callback=_matching(constants.ROLE_NAME_PATTERN, "an IAM role name"),
              help="Role assumed in each account (arn:<partition>:iam::<id>:role/NAME).")
@click.option("--external-id", callback=_matching(constants.EXTERNAL_ID_PATTERN, "an external ID"),
              help="External ID the role's trust policy requires.")
@click.option("--role-session-name", default=constants.DEFAULT_ROLE_SESSION_NAME, show_default=True,
              callback=_matching(constants.ROLE_SESSION_NAME_PATTERN, "a role session name"),
              help="Session name of each assumed role (shows in CloudTrail).")
@click.option("--duration-seconds", type=click.IntRange(900, 43200), default=None,
              help="Length of each assumed-role session [default: 3600]; sessions are refreshed as they expire.")
@click.option("--jobs", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Account x region scopes audited in parallel.")
@click.option("--max-attempts", type=click.IntRange(1, 20), default=5, show_default=True,
              help="Attempts per API call (botocore standard retry mode).")
@click.option("--connect-timeout", type=click.FloatRange(0, min_open=True), default=5.0, show_default=True,
              help="Seconds to wait for a connection to AWS.")
@click.option("--read-timeout", type=click.FloatRange(0, min_open=True), default=30.0, show_default=True,
              help="Seconds to wait for AWS to answer a call (each attempt).")
@click.option("--training-days", type=click.IntRange(1, 365), default=14, show_default=True,
              help="How far back to look for training jobs.")
@click.option("--stats", is_flag=True, help="Print API call counts and timing to standard error.")
@click.option("--baseline-out", type=click.Path(dir_okay=False),
              help="Record every finding of this run as a baseline in FILE (for a later --baseline).")
def audit(output_format, output, stats, baseline_out, **kwargs):
    """Check live SageMaker endpoints, scaling and training jobs (read-only).

    Exit status as for lint; an account or region that could not be read is reported in
    `errors` (exit 2) while every other scope is still audited.
    """
    _check_role_options(kwargs)
    run = Run(**_run_options(kwargs))
    try:
        from .audit import AuditError, AuditOptions, run_audit
    except ModuleNotFoundError as exc:
        if exc.name not in ("boto3", "botocore"):
            raise
        raise UsageProblem("sagewise audit needs boto3: pip install 'sagewise[aws]'") from None

    options = AuditOptions(**{name: tuple(value) if isinstance(value, tuple) else value
                              for name, value in kwargs.items()}, progress=sys.stderr.isatty())
    try:
        result = run_audit(options, run.rules, run.params, run.severities)
    except AuditError as exc:
        raise UsageProblem(str(exc)) from None
    for warning in result.warnings:
        click.echo(f"sagewise: warning: {warning}", err=True)
    if stats:
        click.echo(json.dumps(result.stats, indent=2, sort_keys=True), err=True)
    counts = {name: result.stats[name] for name in ("scopes", "endpoints", "endpoints_by_status")
              if name in result.stats}
    report = Report("audit", result.findings, result.errors, run.rules, counts=counts,
                    checked=[f"{account}/{region}" for account, region in result.scopes])
    run.finish(report, output_format, output, checked_scopes=set(report.checked), baseline_out=baseline_out)


def _rules_or_exit(rules_dir) -> list:
    try:
        return rule_files.load_rules(rules_dir)
    except rule_files.RuleError as exc:
        raise UsageProblem(str(exc)) from None


@main.command("rules")
@click.option("--format", "output_format", type=click.Choice(("text", "json", "markdown")), default="text",
              show_default=True)
@click.option("--rules-dir", multiple=True, type=click.Path(file_okay=False), help="Include rules from DIRECTORY.")
def list_rules(output_format, rules_dir):
    """List the rules: id, name, severity, sources and fix safety."""
    rules = _rules_or_exit(rules_dir)
    if output_format == "markdown":
        click.echo(rules_markdown(rules))
        return
    if output_format == "json":
        click.echo(json.dumps([{
            "id": rule.id, "name": rule.name, "severity": rule.severity, "sources": list(rule.sources),
            "selected_by_default": rule.selected_by_default,
            "summary": rule.summary, "fix_safety": rule.fix["safety"], "params": rule.params,
        } for rule in rules], indent=2))
        return
    rows = [(rule.id, rule.name, rule.severity + ("" if rule.selected_by_default else " (opt-in)"),
             ",".join(rule.sources), rule.fix["safety"], rule.summary)
            for rule in rules]
    header = ("ID", "NAME", "SEVERITY", "SOURCES", "FIX", "SUMMARY")
    widths = [max(len(str(row[i])) for row in rows + [header]) for i in range(5)]
    for row in [header] + rows:
        click.echo("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)) + "  " + row[5])


@main.command()
@click.argument("rule")
@click.option("--rules-dir", multiple=True, type=click.Path(file_okay=False), help="Include rules from DIRECTORY.")
def explain(rule, rules_dir):
    """Show the documentation of RULE (an id like SW101, or a name)."""
    rules = _rules_or_exit(rules_dir)
    wanted = rule.strip().lower()
    found = next((r for r in rules if wanted in (r.id.lower(), r.name.lower())), None)
    if found is None:
        raise UsageProblem(f"no rule {rule!r} (see `sagewise rules`)")
    click.echo(explain_text(found))


def rules_markdown(rules) -> str:
    """The rule table of the README (a test keeps the README in step with ``rules/``)."""
    lines = ["| id | name | severity | sources | fix | what it finds |", "|---|---|---|---|---|---|"]
    lines += [f"| {rule.id} | `{rule.name}` | {rule.severity}{'' if rule.selected_by_default else ' (opt-in)'} "
              f"| {', '.join(rule.sources)} | {rule.fix['safety']} | {rule.summary} |" for rule in rules]
    return "\n".join(lines)


DOC_SECTIONS = (("what_it_checks", "What it checks"), ("why_it_matters", "Why it matters"), ("example", "Example"),
                ("fix", "Fix"))


def explain_text(rule) -> str:
    lines = [f"# {rule.id} {rule.name}", "", f"Severity: {rule.severity}. Sources: {', '.join(rule.sources)}.",
             f"Fix safety: {rule.fix['safety']}. {rule.fix['summary'].strip()}.", ""]
    for key, title in DOC_SECTIONS:
        lines += [f"## {title}", "", rule.docs[key].strip(), ""]
        if key == "fix" and rule.fix.get("diff"):
            command = "sagewise fix --unsafe-fixes" if rule.fix["safety"] == "unsafe" else "sagewise fix"
            lines += [f"`{command}` on a template like the example:", "", "```diff",
                      rule.fix["diff"].rstrip("\n"), "```", ""]
    if rule.params:
        lines += ["## Parameters", ""]
        lines += [f"- `{name}` (default `{spec['default']}`): {spec['description']}"
                  for name, spec in rule.params.items()]
        lines.append("")
    lines += ["## References", ""] + [f"- {reference}" for reference in rule.docs["references"]]
    return "\n".join(lines)


@main.command("iam-policy")
@click.option("--role-name", callback=_matching(constants.ROLE_NAME_PATTERN, "an IAM role name"),
              help="Role assumed in each account by `sagewise audit --role-name` [default: "
                   f"{constants.DEFAULT_ROLE_NAME}], or with --remediate by `sagewise remediate --apply --role-name` "
                   f"[default: {constants.DEFAULT_REMEDIATION_ROLE_NAME}].")
@click.option("--partition", type=click.Choice(constants.PARTITIONS), default="aws", show_default=True,
              help="AWS partition of the accounts (the ARN prefix).")
@click.option("--remediate", is_flag=True,
              help="The policy of `sagewise remediate --apply` and `sagewise undo` (they write) instead.")
def iam_policy(role_name, partition, remediate):
    """Print the least-privilege IAM policy for `sagewise audit`, as JSON.

    Attach it to the identity that runs the audit, and (without its AssumeRole statement) to the
    role the audit assumes in each account. The audit refuses any call this policy does not grant.
    With --remediate, the same for applying and undoing remediation plans (planning is an audit).
    """
    from . import iam

    statements, default_role = (iam.REMEDIATE, iam.DEFAULT_REMEDIATION_ROLE_NAME) if remediate \
        else (iam.AUDIT, iam.DEFAULT_ROLE_NAME)
    click.echo(json.dumps(iam.policy_document(statements, role_name=role_name or default_role, partition=partition),
                          indent=2))


@main.command("baseline")
@click.argument("paths", nargs=-1, type=click.Path(readable=False))
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=".sagewise-baseline.json", show_default=True,
              help="The baseline file to write.")
@rule_options
@click.option("--exclude", multiple=True, metavar="GLOB", help="Skip files and directories matching GLOB.")
def baseline_command(paths, output, exclude, **kwargs):
    """Record today's findings in PATHS (default: .) as a baseline.

    `sagewise lint --baseline FILE` then reports and fails only on findings that are not in it, and
    says how many of the baseline's are gone. Findings are matched by fingerprint (rule, file,
    resource and property path; never line numbers), so edits that move lines keep them matched.
    Commit the file; run this again to accept what is there. For live accounts, use
    `sagewise audit --baseline-out FILE`.

    Exit status: 0 when the baseline was written; 2 when an input could not be read (nothing is
    written: its findings would be missing) or the options or configuration are invalid.
    """
    from .reporters.text import error_place

    run = Run(fail_on=None, **kwargs)
    result = run.lint(paths, exclude)
    for error in result.errors:
        click.echo(f"{error_place(error)}: error: {error.message}", err=True)
    if not _write_baseline(output, result.findings, result.errors):
        sys.exit(EXIT_ERROR)
    count, files = len(result.findings), result.files
    click.echo(f"Wrote {count} finding{'' if count == 1 else 's'} to {output} "
               f"({files} file{'' if files == 1 else 's'} checked).")


@main.command("merge")
@click.argument("reports", nargs=-1, required=True, type=click.Path(dir_okay=False))
@report_options
@config_options
def merge_command(reports, output_format, output, output_dir, fail_on, config_file, isolated, rules_dir):
    """Merge JSON reports of distinct scopes into one report.

    An organization audited in several jobs (one per organizational unit, a CI matrix) writes one
    `sagewise.json` per job (`sagewise audit --output-dir DIR`); this renders them as one report,
    with totals and money added up. Two reports with findings in the same account and region (or
    file) are refused rather than counted twice. The findings are the reports' own: no rule runs
    again, and baselines and selections were applied when each report was written; --rules-dir
    names the rule files the runs used, whose documentation goes into SARIF and HTML.

    Exit status: 0 when no merged finding reaches --fail-on, 1 when one does, 2 when a report cannot
    be read or merged, or when a report carries an error (a scope its audit could not read).
    """
    from . import aggregate

    documents = []
    for path in reports:
        try:
            with open(path, encoding="utf-8") as handle:
                documents.append(json.load(handle))
        except OSError as exc:
            raise UsageProblem(f"{path}: cannot read it: {exc.strerror or exc}") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise UsageProblem(f"{path}: not a JSON report: {exc}") from None
    run = Run(config_file=config_file, isolated=isolated, select=(), extend_select=(), ignore=(), fail_on=fail_on,
              rules_dir=rules_dir, output_dir=output_dir)
    try:
        merged = aggregate.merge(documents, names=reports)
        report = aggregate.to_report(merged, run.all_rules)
    except aggregate.ReportError as exc:
        raise UsageProblem(str(exc)) from None
    run.finish(report, output_format, output)


@main.command("cfnlint-rules")
def cfnlint_rules():
    """Print the directory of sagewise's rules for cfn-lint.

    \b
    cfn-lint template.yaml --append-rules "$(sagewise cfnlint-rules)"

    cfn-lint then runs the sagewise template rules (the same rule files, evaluated by sagewise)
    with its own output formats, suppressions and exit codes; SWnnn is reported as E9nnn, W9nnn or
    I9nnn by severity. cfn-lint and sagewise must be installed in the same environment.
    """
    from .cfnlint_rules import DIRECTORY

    click.echo(str(DIRECTORY))


# --- sagewise remediate, sagewise undo ---------------------------------------------------------------------------

_PLAN_SCOPE = ("regions", "all_regions", "accounts", "organization", "exclude_accounts", "jobs", "training_days")
"""Options of ``audit`` that choose what a plan covers."""
_CREDENTIALS = ("profile", "role_name", "external_id", "role_session_name", "duration_seconds", "max_attempts",
                "connect_timeout", "read_timeout")
"""Options of ``audit`` that say how to reach the accounts (planning, applying and undoing alike)."""
_PLAN_ONLY = _PLAN_SCOPE + ("select", "extend_select", "ignore", "config_file", "isolated", "rules_dir",
                            "unsafe_fixes", "plan_out", "output_format")
_APPLY_ONLY = ("journal_file", "yes", "max_changes")


def _audit_params(names) -> list:
    """The ``audit`` command's own options called ``names``: one definition, the same checks and help (a
    remediation's role session is ``sagewise-remediate`` in CloudTrail, though)."""
    import copy

    params = [copy.copy(param) for param in audit.params if param.name in names]
    for param in params:
        if param.name == "role_session_name":
            param.default = "sagewise-remediate"
    return params


def _remediation():
    """The remediation package, or a usage error when boto3 is missing (the lint path never imports it)."""
    try:
        from .remediation import access, runs
    except ModuleNotFoundError as exc:
        if exc.name not in ("boto3", "botocore"):
            raise
        raise UsageProblem("sagewise remediate and undo need boto3: pip install 'sagewise[aws]'") from None
    return access, runs


def _credentials(access, kwargs):
    return access.Credentials(**{name: kwargs[name] for name in _CREDENTIALS})


def _confirmation(yes: bool, command: str):
    """How to ask before changing an account: not at all with --yes, else on the terminal, else refuse."""
    if yes:
        return None
    if not sys.stdin.isatty():
        raise UsageProblem(f"{command} asks for confirmation and standard input is not a terminal: pass --yes")
    return lambda question: click.confirm(question, default=False)


@main.command("remediate", params=_audit_params(_PLAN_SCOPE + _CREDENTIALS))
@rule_options
@click.option("--unsafe-fixes", is_flag=True,
              help="Also plan unsafe fixes: instance type changes (SW301, SW302), parking idle endpoints (SW303).")
@click.option("--plan-out", type=click.Path(dir_okay=False), help="Write the plan as JSON to FILE (it is also printed).")
@click.option("--format", "output_format", type=click.Choice(("text", "json")), default="text", show_default=True,
              help="How the plan is printed.")
@click.option("--apply", "plan_file", type=click.Path(dir_okay=False), metavar="PLAN",
              help="Apply the plan in PLAN (written by --plan-out) instead of making one.")
@click.option("--journal", "journal_file", type=click.Path(dir_okay=False),
              help="With --apply: the journal to append to [default: PLAN's name with .journal.jsonl, beside it].")
@click.option("--yes", is_flag=True, help="With --apply: apply without asking.")
@click.option("--max-changes", type=click.IntRange(min=1), default=constants.DEFAULT_MAX_CHANGES, show_default=True,
              help="With --apply: refuse a plan of more steps than this.")
@click.pass_context
def remediate(ctx, plan_file, journal_file, yes, max_changes, **kwargs):
    """Plan the fixes of live findings, or apply a plan (--apply PLAN).

    \b
    sagewise remediate --region us-east-1 --plan-out plan.json    audit and plan; nothing changes
    sagewise remediate --apply plan.json                           apply it, step by step, journaled
    sagewise undo plan.journal.jsonl                               revert what was applied

    A plan lists, per step, the findings it fixes, the API calls with their parameters, the state
    each call expects (a step whose resources changed since is refused when applied), the calls
    that undo it and the IAM actions they need. Safe fixes only, unless --unsafe-fixes.

    Exit status: planning, 0 (2 when an account, region or resource could not be read); applying,
    0 when every step is applied (or was already), 1 when a step was refused or failed, 2 when
    the plan, the journal or the options cannot be used (nothing is changed then).
    """
    if plan_file and _given(ctx, _PLAN_ONLY):
        raise UsageProblem(f"{_given(ctx, _PLAN_ONLY)[0]} goes with making a plan, not with --apply")
    if not plan_file and _given(ctx, _APPLY_ONLY):
        raise UsageProblem(f"{_given(ctx, _APPLY_ONLY)[0]} goes with --apply")
    _check_role_options(kwargs)
    if plan_file:
        confirm = _confirmation(yes, "sagewise remediate --apply")
        access, runs = _remediation()
        try:
            code = runs.apply_plan(plan_file, journal_file=journal_file, max_changes=max_changes,
                                   credentials=_credentials(access, kwargs), confirm=confirm, echo=click.echo)
        except runs.RunError as exc:
            raise UsageProblem(str(exc)) from None
        sys.exit(code)
    run = Run(fail_on=None, **{name: kwargs.pop(name) for name in
                               ("config_file", "isolated", "select", "extend_select", "ignore", "rules_dir")})
    access, runs = _remediation()
    from .audit import AuditOptions

    scope = {name: tuple(kwargs[name]) if isinstance(kwargs[name], tuple) else kwargs[name]
             for name in _PLAN_SCOPE + _CREDENTIALS}
    options = AuditOptions(**scope, progress=sys.stderr.isatty())
    try:
        code = runs.plan_accounts(options, run.rules, run.params, run.severities, run.all_params(),
                                  unsafe=kwargs["unsafe_fixes"], plan_out=kwargs["plan_out"],
                                  output_format=kwargs["output_format"], echo=click.echo,
                                  warn=lambda line: click.echo(line, err=True))
    except runs.RunError as exc:
        raise UsageProblem(str(exc)) from None
    sys.exit(code)


@main.command("undo", params=_audit_params(_CREDENTIALS))
@click.argument("journal_file", metavar="JOURNAL", type=click.Path(dir_okay=False))
@click.option("--yes", is_flag=True, help="Revert without asking.")
@click.pass_context
def undo(ctx, journal_file, yes, **kwargs):
    """Revert what `sagewise remediate --apply` recorded in JOURNAL, newest step first.

    Each step is reverted only if its resources are still as the apply left them; a step someone
    changed since is refused, the others are reverted. An apply that was interrupted (Ctrl-C, a
    failed call, a killed process) is reverted as far as it got.

    Exit status: 0 when every step is reverted (or nothing was left to revert), 1 when a step was
    refused or failed, 2 when the journal or the options cannot be used (nothing is changed then).
    """
    _check_role_options(kwargs)
    confirm = _confirmation(yes, "sagewise undo")
    access, runs = _remediation()
    try:
        code = runs.undo_journal(journal_file, credentials=_credentials(access, kwargs), confirm=confirm,
                                 echo=click.echo)
    except runs.RunError as exc:
        raise UsageProblem(str(exc)) from None
    sys.exit(code)
