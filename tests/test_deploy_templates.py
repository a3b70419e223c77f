"""deploy/: the scheduled audit's SAM template and the member accounts' role template are clean under cfn-lint
and ``sagewise lint --fail-on info``; the state machine definition is valid (cfn-lint's E3601 schema and a
structural check of every transition); the roles grant what :mod:`auditor.iam` lists, and the functions'
handlers, settings and dependencies are the package's own."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cfnlint.api import lint_all
from cfnlint.decode import decode

from auditor import iam, lambda_handler

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
TEMPLATES = [DEPLOY / "scheduled-audit.yaml", DEPLOY / "audit-member-role.yaml"]
LAMBDA_TASK = "arn:aws:states:::lambda:invoke"
LAMBDA_THROTTLING = "Lambda.TooManyRequestsException"


def load(path: Path) -> dict:
    template, problems = decode(str(path))
    assert not problems, problems
    return template


@pytest.fixture(scope="module")
def scheduled() -> dict:
    return load(TEMPLATES[0])


@pytest.fixture(scope="module")
def member() -> dict:
    return load(TEMPLATES[1])


def definition(template: dict) -> dict:
    return template["Resources"]["AuditStateMachine"]["Properties"]["Definition"]


# --- Both linters --------------------------------------------------------------------------------------------


def test_the_templates_pass_cfn_lint():
    command = shutil.which("cfn-lint") or str(Path(sys.executable).with_name("cfn-lint"))
    assert Path(command).exists(), "cfn-lint is a test dependency: pip install -e '.[test]'"
    completed = subprocess.run([command, *map(str, TEMPLATES)], capture_output=True, text=True, timeout=300)
    assert (completed.returncode, completed.stdout, completed.stderr) == (0, "", "")


def test_the_templates_pass_sagewise_lint_at_info(sagewise):
    result = sagewise("lint", DEPLOY, "--fail-on", "info", "--isolated")
    assert result.exit_code == 0, result.stdout
    assert result.stdout == "All checks passed! (2 files checked)\n"


# --- The state machine ---------------------------------------------------------------------------------------


def structural_problems(machine: dict, where: str = "") -> list:
    """What Step Functions would refuse or never run: a StartAt or Next naming no state, a state with both or
    neither of Next and End, a state nothing reaches; recursively for Map and Parallel branches."""
    states = machine.get("States") or {}
    problems = [] if machine.get("StartAt") in states else [f"{where}StartAt {machine.get('StartAt')!r} is no state"]
    edges = {}
    for name, state in states.items():
        kind = state.get("Type")
        targets = [state["Next"]] if "Next" in state else []
        targets += [rule.get("Next") for rule in state.get("Choices", ())] + \
            ([state["Default"]] if "Default" in state else [])
        targets += [catcher.get("Next") for catcher in state.get("Catch", ())]
        edges[name] = targets
        terminal = kind in ("Succeed", "Fail") or (kind != "Choice" and state.get("End") is True)
        if kind not in ("Choice", "Succeed", "Fail") and terminal == ("Next" in state):
            problems.append(f"{where}{name}: exactly one of Next and End")
        problems += [f"{where}{name}: Next {target!r} is no state" for target in targets if target not in states]
        branches = [state.get("ItemProcessor") or state.get("Iterator")] + state.get("Branches", [])
        for index, branch in enumerate(branches):
            if branch:
                problems += structural_problems(branch, f"{where}{name}[{index}].")
    reached, todo = set(), [machine.get("StartAt")]
    while todo:
        name = todo.pop()
        if name in states and name not in reached:
            reached.add(name)
            todo += edges[name]
    problems += [f"{where}{name}: unreachable" for name in states if name not in reached]
    return problems


def schema_problems(machine: dict) -> list:
    """cfn-lint's errors (E3601: the ASL schema) on the definition as a plain AWS::StepFunctions::StateMachine: SAM
    turns an inline Definition with substitutions into a string, which cfn-lint does not look into. Only errors
    count: the wrapper template is synthetic, and newer cfn-lint releases add informational rules about
    templates (1.58's I4010 asks for a Metadata context block) that say nothing of the definition."""
    text = re.sub(r"\$\{(\w+)\}", lambda match: f"arn:aws:lambda:us-east-1:123456789012:function:{match.group(1)}"
                  if match.group(1).endswith("Arn") else match.group(1).lower(), json.dumps(machine))
    template = {"Resources": {"Machine": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {
        "RoleArn": "arn:aws:iam::123456789012:role/machine", "Definition": json.loads(text)}}}}
    return [str(match) for match in lint_all(json.dumps(template)) if match.rule.id.startswith("E")]


def test_the_definition_is_valid(scheduled):
    machine = definition(scheduled)
    assert structural_problems(machine) == []
    assert schema_problems(machine) == []


@pytest.mark.parametrize("breakage, problem", [
    (lambda m: m["States"]["AuditScopes"].update(Next="Agregate"), "AuditScopes: Next 'Agregate' is no state"),
    (lambda m: m["States"]["Aggregate"].pop("End"), "Aggregate: exactly one of Next and End"),
    (lambda m: m.update(StartAt="AuditScopes"), "ListScopes: unreachable"),
    (lambda m: m["States"]["AuditScopes"]["ItemProcessor"].update(StartAt="Audit"),
     "AuditScopes[0].StartAt 'Audit' is no state"),
])
def test_the_structural_check_finds_broken_transitions(scheduled, breakage, problem):
    machine = copy.deepcopy(definition(scheduled))
    breakage(machine)
    assert problem in structural_problems(machine)


def test_cfn_lint_checks_the_definitions_schema(scheduled):
    machine = copy.deepcopy(definition(scheduled))
    del machine["States"]["AuditScopes"]["ItemProcessor"]
    assert any("E3601" in problem for problem in schema_problems(machine))


def test_the_map_is_distributed_bounded_tolerant_and_written_to_s3(scheduled):
    mapping = definition(scheduled)["States"]["AuditScopes"]
    assert mapping["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    assert mapping["ItemReader"]["Resource"] == "arn:aws:states:::s3:getObject"
    assert mapping["ItemReader"]["ReaderConfig"] == {"InputType": "JSON"}
    # The bound is the template's MaxConcurrency parameter, which the first step passes on as a number.
    assert mapping["MaxConcurrencyPath"] == "$.max_concurrency"
    assert scheduled["Resources"]["ListScopesFunction"]["Properties"]["Environment"]["Variables"][
        "SAGEWISE_MAX_CONCURRENCY"] == {"Ref": "MaxConcurrency"}
    # Failed runs are collected (ResultWriter's FAILED files, read by the aggregation), never fatal.
    assert mapping["ToleratedFailurePercentage"] == 100
    assert mapping["ResultWriter"]["Resource"] == "arn:aws:states:::s3:putObject"
    assert set(mapping["ItemSelector"]) - {"date.$"} == \
        {f"{key}.$" for key in lambda_handler._ScopeEvent.KEYS} - {"organization.$", "date.$"}


def test_the_map_reads_and_writes_where_the_functions_write_and_its_role_allows(scheduled):
    prefix = scheduled["Globals"]["Function"]["Environment"]["Variables"]["SAGEWISE_REPORT_PREFIX"]
    writer = definition(scheduled)["States"]["AuditScopes"]["ResultWriter"]["Parameters"]
    assert writer["Prefix"].startswith(f"{prefix}/")
    statements = granted(scheduled["Resources"]["AuditStateMachine"]["Properties"]["Policies"])
    bucket = "arn:${AWS::Partition}:s3:::${ReportBucket}"
    assert statements["ReadTheMapsItems"][1] == [{"Fn::Sub": f"{bucket}/{prefix}/*"}]  # <prefix>/<date>/scopes.json
    assert statements["WriteTheMapsResults"][1] == [{"Fn::Sub": f"{bucket}/{writer['Prefix']}/*"}]


def lambda_tasks(machine: dict):
    for state in machine["States"].values():
        if state.get("Resource") == LAMBDA_TASK:
            yield state
        if "ItemProcessor" in state:
            yield from lambda_tasks(state["ItemProcessor"])


def test_every_lambda_step_retries_throttling_and_nothing_else(scheduled):
    tasks = list(lambda_tasks(definition(scheduled)))
    assert len(tasks) == 3
    for task in tasks:
        [retry] = task["Retry"]
        assert LAMBDA_THROTTLING in retry["ErrorEquals"] and "States.ALL" not in retry["ErrorEquals"]


def test_the_steps_call_the_packages_handlers(scheduled):
    substitutions = scheduled["Resources"]["AuditStateMachine"]["Properties"]["DefinitionSubstitutions"]
    used = set(re.findall(r"\$\{(\w+)\}", json.dumps(definition(scheduled))))
    assert used == set(substitutions)
    for name, resource in scheduled["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            module, function = resource["Properties"]["Handler"].rsplit(".", 1)
            assert module == "auditor.lambda_handler" and callable(getattr(lambda_handler, function)), name


# --- Settings, permissions, dependencies ---------------------------------------------------------------------


def test_every_variable_the_template_sets_is_a_setting(scheduled):
    class Recorder(dict):
        def get(self, key, default=None):
            read.add(key)
            return {"SAGEWISE_REPORT_BUCKET": "bucket"}.get(key, default)

    read = set()
    lambda_handler.Settings.from_environment(Recorder())
    variables = set(scheduled["Globals"]["Function"]["Environment"]["Variables"])
    for resource in scheduled["Resources"].values():
        variables |= set(resource.get("Properties", {}).get("Environment", {}).get("Variables", {}))
    assert variables <= read


PLACEHOLDERS = {"{partition}": "${AWS::Partition}", "{bucket}": "${ReportBucket}", "{role_name}": "${AuditRoleName}",
                "{import_role_name}": "${SecurityHubRoleName}"}


def expected_resources(statement: iam.Statement) -> list:
    resources = []
    for pattern in statement.resources:
        if pattern == "{topic}":
            resources.append({"Ref": "SummaryTopic"})
            continue
        for placeholder, variable in PLACEHOLDERS.items():
            pattern = pattern.replace(placeholder, variable)
        resources.append({"Fn::Sub": pattern} if "${" in pattern else pattern)
    return resources


def granted(policies) -> dict:
    """Sid -> (actions, resources) of the statements in SAM ``Policies`` or IAM ``Policies``; Fn::If taken."""
    statements = {}
    for policy in policies:
        for statement in policy.get("PolicyDocument", policy)["Statement"]:
            if "Fn::If" in statement:
                statement = statement["Fn::If"][1]
            actions, resources = statement["Action"], statement["Resource"]
            statements[statement["Sid"]] = (set([actions] if isinstance(actions, str) else actions),
                                            resources if isinstance(resources, list) else [resources])
    return statements


STATEMENTS = {statement.sid: statement for statement in iam.AUDIT + iam.SCHEDULED_RUNNER + iam.SECURITY_HUB_IMPORT}


def assert_statements_of_iam(statements: dict, *, exactly: bool = True) -> None:
    for sid, (actions, resources) in statements.items():
        statement = STATEMENTS[sid]
        assert actions == set(statement.actions) if exactly else actions <= set(statement.actions), sid
        assert resources == expected_resources(statement), sid


def test_the_audit_function_holds_the_audit_policy_and_the_runners(scheduled):
    statements = granted(scheduled["Resources"]["AuditFunction"]["Properties"]["Policies"])
    assert set(statements) == {statement.sid for statement in iam.AUDIT} | {
        "WriteReports", "AssumeTheImportRoleInEachAccount", "ImportSagewiseFindings"}
    assert_statements_of_iam(statements)


def test_the_other_functions_hold_only_what_they_call(scheduled):
    listing = granted(scheduled["Resources"]["ListScopesFunction"]["Properties"]["Policies"])
    assert listing["FindScopes"][0] == {"organizations:ListAccounts", "sts:GetCallerIdentity"}
    assert_statements_of_iam(listing, exactly=False)
    merging = granted(scheduled["Resources"]["AggregateFunction"]["Properties"]["Policies"])
    assert set(merging) == {"ReadReports", "WriteReports", "PublishSummaries"}
    assert_statements_of_iam(merging)


def test_the_member_roles_are_the_audit_policy_and_the_import_policy(member):
    audit_role = granted(member["Resources"]["AuditRole"]["Properties"]["Policies"])
    # The assumed role holds the audit policy without the caller's own AssumeRole statement (README, IAM policy).
    assert set(audit_role) == {statement.sid for statement in iam.AUDIT} - {"AssumeTheAuditRoleInEachAccount"}
    assert_statements_of_iam(audit_role)
    import_role = granted(member["Resources"]["SecurityHubImportRole"]["Properties"]["Policies"])
    assert set(import_role) == {statement.sid for statement in iam.SECURITY_HUB_IMPORT}
    assert_statements_of_iam(import_role)


def test_the_role_names_agree_across_the_templates_and_the_code(scheduled, member):
    for template in (scheduled, member):
        assert template["Parameters"]["AuditRoleName"]["Default"] == iam.DEFAULT_ROLE_NAME
        assert template["Parameters"]["SecurityHubRoleName"]["Default"] == iam.DEFAULT_IMPORT_ROLE_NAME


def test_the_functions_install_the_packages_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [requirement for requirement in project["dependencies"] + project["optional-dependencies"]["aws"]
              if "python_version < '3.11'" not in requirement]  # the functions run Python 3.12
    lines = (DEPLOY / "requirements.txt").read_text().splitlines()
    listed = [line for line in lines if line and not line.startswith("#")]
    assert sorted(listed, key=str.lower) == sorted(wanted, key=str.lower)
