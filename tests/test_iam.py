"""``sagewise iam-policy``: the audit's least-privilege policy for the user's partition and role name."""

from __future__ import annotations

import fnmatch
import json

import pytest

from auditor import iam

REGION, ACCOUNT = "us-east-1", "123456789012"


def statements(**options) -> list:
    return iam.policy_document(iam.AUDIT, **options)["Statement"]


def resources(statement: dict) -> list:
    return statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]


def test_every_statement_allows_named_reads_only():
    for statement in statements():
        assert statement["Effect"] == "Allow" and statement.get("Sid")
        for action in statement["Action"]:
            _, name = action.split(":")
            assert "*" not in action and "?" not in action, action
            assert name.startswith(("Describe", "List", "Get", "Search")) or action == "sts:AssumeRole", action


@pytest.mark.parametrize("action, arn", [
    ("sagemaker:DescribeEndpoint", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/churn"),
    ("sagemaker:DescribeEndpointConfig", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint-config/churn"),
    ("sagemaker:DescribeModel", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/churn"),
    ("sagemaker:DescribeInferenceComponent", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:inference-component/c"),
    ("sagemaker:DescribeTrainingJob", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/t"),
    ("sts:AssumeRole", f"arn:aws:iam::{ACCOUNT}:role/SagewiseAudit"),
])
def test_resource_scoped_actions_reach_their_resources_and_no_further(action, arn):
    [statement] = [s for s in statements() if action in s["Action"]]
    patterns = resources(statement)
    assert "*" not in patterns
    assert any(fnmatch.fnmatchcase(arn, pattern) for pattern in patterns)
    assert not any(fnmatch.fnmatchcase(f"arn:aws:s3:::bucket/{arn}", pattern) for pattern in patterns)


@pytest.mark.parametrize("partition", iam.PARTITIONS)
def test_arns_name_the_partition_and_the_role(partition):
    patterns = [pattern for statement in statements(partition=partition, role_name="OrgAudit")
                for pattern in resources(statement) if pattern != "*"]
    assert patterns and all(pattern.startswith(f"arn:{partition}:") for pattern in patterns)
    assert f"arn:{partition}:iam::*:role/OrgAudit" in patterns


def test_an_unknown_partition_is_refused():
    with pytest.raises(ValueError, match="unknown partition 'aws-iso'"):
        iam.policy_document(iam.AUDIT, partition="aws-iso")


def test_the_command_prints_the_policy(sagewise):
    result = sagewise("iam-policy", "--partition", "aws-us-gov", "--role-name", "Audit")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == iam.policy_document(iam.AUDIT, role_name="Audit", partition="aws-us-gov")
    assert json.loads(sagewise("iam-policy").stdout) == iam.policy_document(iam.AUDIT)


@pytest.mark.parametrize("arguments, message", [
    (("--role-name", ""), "sagewise: error: --role-name '' is not an IAM role name\n"),
    (("--role-name", "a/b"), "sagewise: error: --role-name 'a/b' is not an IAM role name\n"),
])
def test_a_bad_role_name_is_one_line_and_exit_2(run_module, arguments, message):
    completed = run_module("iam-policy", *arguments)
    assert (completed.returncode, completed.stdout, completed.stderr) == (2, "", message)
