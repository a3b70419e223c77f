"""Unsafe live fixes on endpoints: an instance type change (SW301/SW302) applied and undone, and a failed update.

moto has no ``UpdateEndpoint``, so SageMaker is a botocore ``Stubber`` here (every request and answer is checked
against botocore's service model) while Application Auto Scaling is moto: the scaling must be taken down before
the update (aws-ml-facts gotcha 15) and come back exactly as it was. Parking an endpoint (SW303) needs nothing moto
lacks; test_remediate_apply.py and test_remediate_e2e.py apply and undo it.
"""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

import audit_scenario as scenario
import remediate_scenario as remediation
from auditor.remediation import access, apply
from auditor.remediation import journal as journals
from auditor.remediation.apply import Runner, apply_step
from auditor.remediation.undo import undo_step
from auditor.sources.aws import RegionClients

REGION = remediation.REGION
SCOPE = (remediation.ACCOUNT, REGION)


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch, tmp_path):
    scenario.isolate_environment(monkeypatch, tmp_path)
    monkeypatch.setattr(apply, "WAIT_DELAY_SECONDS", 0)


@pytest.fixture
def account():
    with mock_aws():
        c = scenario.clients(REGION)
        remediation.seed_cpu_on_gpu(c)
        yield c


def change_step():
    plan, unreadable = remediation.plan(["SW301"], unsafe=True)
    assert unreadable == []
    [step] = plan.steps
    return step


def run(step_or_record, clients, journal_path, direction):
    with journals.Journal(journal_path) as journal:
        runner = Runner({SCOPE: clients}, {}, journal, direction)
        if direction == journals.APPLY:
            return apply_step(step_or_record, None, runner)
        return undo_step(step_or_record, runner)


def stubbed_clients(c, recorder=None):
    """SageMaker answered by a Stubber, Application Auto Scaling by moto, both behind the remediation's guard."""
    recorder = recorder or access.guard()
    sagemaker = recorder.attach(boto3.client("sagemaker", region_name=REGION))
    return Stubber(sagemaker), RegionClients(sagemaker, recorder.attach(c.autoscaling), None)


def test_the_instance_type_changes_with_scaling_off_during_the_update_and_undo_restores_it(account, tmp_path):
    step = change_step()
    before = remediation.scaling_state(account)
    stub, clients = stubbed_clients(account)
    journal = tmp_path / "journal.jsonl"

    with stub:
        remediation.answer_the_change(stub)
        result = run(step, clients, journal, journals.APPLY)
        stub.assert_no_pending_responses()

    assert (result.outcome, result.calls) == (apply.APPLIED, 8)
    assert remediation.scaling_state(account) == before  # registered again as it was
    made = [(entry["call"]["operation"]) for entry in journals.read(journal) if entry.get("phase") == "before"]
    assert made == ["CreateEndpointConfig", "DeleteScalingPolicy", "DeleteScheduledAction", "DeregisterScalableTarget",
                    "UpdateEndpoint", "RegisterScalableTarget", "PutScheduledAction", "PutScalingPolicy"]
    deregistered = next(entry for entry in journals.read(journal) if entry.get("phase") == "after"
                        and entry["index"] == made.index("DeregisterScalableTarget"))
    assert [item["value"] for item in deregistered["state"]] == [None]  # no target left when the update is made

    [record] = journals.replay(journals.read(journal)).values()
    stub, clients = stubbed_clients(account)
    with stub:
        remediation.answer_the_undo(stub)
        undone = run(record, clients, journal, journals.UNDO)
        stub.assert_no_pending_responses()

    assert (undone.outcome, undone.calls) == (apply.REVERTED, 7)  # the new config is kept: nothing undoes it
    assert remediation.scaling_state(account) == before


def test_a_failed_update_stops_the_step_and_undo_puts_the_scaling_back(account, tmp_path):
    step = change_step()
    before = remediation.scaling_state(account)
    stub, clients = stubbed_clients(account)
    journal = tmp_path / "journal.jsonl"

    with stub:
        remediation.answer_the_change(stub, update_fails=True)
        result = run(step, clients, journal, journals.APPLY)
        stub.assert_no_pending_responses()

    assert result.outcome == apply.FAILED
    assert result.detail.startswith("call 5 of 8: Waiter EndpointInService failed: Waiter encountered a terminal "
                                    "failure state")
    assert remediation.scaling_state(account)["targets"] == []  # left without scaling by the failure

    [record] = journals.replay(journals.read(journal)).values()
    assert record.doubt == 4  # the update failed: whether it was made is decided from the endpoint
    stub, clients = stubbed_clients(account)
    with stub:
        remediation.answer_the_failed_undo(stub)
        undone = run(record, clients, journal, journals.UNDO)
        stub.assert_no_pending_responses()

    assert (undone.outcome, undone.calls) == (apply.REVERTED, 3)
    assert remediation.scaling_state(account) == before
    settled = [entry for entry in journals.read(journal) if entry.get("settled")]
    assert [(entry["index"], entry["outcome"]) for entry in settled] == [(4, journals.NOT_MADE)]
