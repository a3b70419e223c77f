"""Security Hub: one account and region's sagewise findings in ASFF, imported, and resolved once they are gone.

Findings go in with ``BatchImportFindings`` (at most 100 a call) under the account's default product,
``arn:<partition>:securityhub:<region>:<account>:product/<account>/default``. Security Hub takes findings
of the calling account only, so each account's findings are imported with that account's credentials
(a scheduled run assumes an import role in each member account; the audit role stays read-only), and
the delegated Security Hub administrator sees them all.

- **Ids** are ``sagewise/<rule>/<fingerprint>``. The fingerprint is built from the rule, the account and
  region, the resource ARN and the property path, never from the message, so a finding keeps its Id
  from one run to the next and each import updates it (``CreatedAt`` and ``FirstObservedAt`` are kept).
- **Severity**: error -> HIGH, warning -> MEDIUM, info -> LOW. ASFF's INFORMATIONAL means "no issue was
  found", which an info finding (a previous-generation instance) is not; LOW is "does not require action on
  its own". Severity and Types also go in ``FindingProviderFields``, the provider's own copy, which
  ``BatchImportFindings`` keeps updating after a customer changed the top-level ones.
- **Resolved**: sagewise's ACTIVE findings that Security Hub holds for the account and region and that this
  run did not find are (1) imported again with ``RecordState`` ARCHIVED, the provider's way to say a
  finding no longer applies (and what makes Security Hub set a finding that comes back to NEW again), and
  (2) set to Workflow status RESOLVED with ``BatchUpdateFindings``, because ``BatchImportFindings``
  cannot change a finding's workflow once it exists, while ``BatchUpdateFindings`` may update the calling
  account's own findings, custom products' included. Findings a person SUPPRESSED or already RESOLVED
  keep their workflow status. A scope whose audit had errors resolves nothing: what could not be read is
  not gone.

The client is the caller's (a Stubber in tests); this module makes no client of its own.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone

from .batching import batches

SCHEMA_VERSION = "2018-10-08"
BATCH = 100
"""Findings per ``BatchImportFindings`` and per ``BatchUpdateFindings`` call, and per ``GetFindings`` page."""
SEVERITY_LABELS = {"error": "HIGH", "warning": "MEDIUM", "info": "LOW"}
GENERATOR_PREFIX = "sagewise/"
TYPE_PREFIX = "Software and Configuration Checks/sagewise/"
PRODUCT_NAME = COMPANY_NAME = "sagewise"
TITLE_MAX, DESCRIPTION_MAX, TEXT_MAX = 256, 1024, 512
"""ASFF's length limits of ``Title``, ``Description`` and ``Remediation.Recommendation.Text``."""
_KEEPS_WORKFLOW = {"SUPPRESSED", "RESOLVED"}


@dataclass
class SyncResult:
    imported: int = 0
    """Findings of this run imported (created or updated)."""
    resolved: list = field(default_factory=list)
    """Ids of the findings archived and set to RESOLVED because this run did not find them again."""
    errors: list = field(default_factory=list)
    """One line per distinct refusal (``FailedFindings``, ``UnprocessedFindings``), with how many it concerns."""


def product_arn(partition: str, region: str, account: str) -> str:
    """The default product of ``account``: what a custom integration imports under."""
    return f"arn:{partition}:securityhub:{region}:{account}:product/{account}/default"


def finding_id(finding: dict) -> str:
    return f"{GENERATOR_PREFIX}{finding['rule_id']}/{finding['fingerprint']}"


def to_asff(finding: dict, *, partition: str, now: str, first_seen: str | None = None) -> dict:
    """``finding`` (an entry of a JSON report, a live one: it has an account and region) in ASFF.

    ``now`` is the import time (ISO 8601); ``first_seen`` is when Security Hub first got this finding, so
    that its creation time does not move from one import to the next.
    """
    account, region = finding["account"], finding["region"]
    label = SEVERITY_LABELS[finding["severity"]]
    severity = {"Label": label, "Original": finding["severity"]}
    types = [f"{TYPE_PREFIX}{finding['rule_name']}"]
    resource = {"Type": "Other", "Id": finding["resource"], "Partition": partition, "Region": region,
                "Details": {"Other": {"ResourceType": _resource_type(finding["resource"]),
                                      **({"Path": finding["path"]} if finding.get("path") else {})}}}
    asff = {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": finding_id(finding),
        "ProductArn": product_arn(partition, region, account),
        "ProductName": PRODUCT_NAME,
        "CompanyName": COMPANY_NAME,
        "GeneratorId": f"{GENERATOR_PREFIX}{finding['rule_id']}",
        "AwsAccountId": account,
        "Types": types,
        "CreatedAt": first_seen or now,
        "UpdatedAt": now,
        "FirstObservedAt": first_seen or now,
        "LastObservedAt": now,
        "Severity": severity,
        "FindingProviderFields": {"Severity": dict(severity), "Types": list(types)},
        "Title": _clip(f"{finding['rule_id']} {finding['rule_name']}", TITLE_MAX),
        "Description": _clip(finding["message"], DESCRIPTION_MAX),
        "ProductFields": _product_fields(finding),
        "Resources": [resource],
        "RecordState": "ACTIVE",
    }
    if (finding.get("fix") or {}).get("summary"):
        asff["Remediation"] = {"Recommendation": {"Text": _clip(finding["fix"]["summary"], TEXT_MAX)}}
    return asff


def sync(client, findings: list, *, account: str, region: str, partition: str, resolve: bool,
         now: datetime | None = None) -> SyncResult:
    """Import ``findings`` (JSON report entries of ``account`` in ``region``) and resolve sagewise's others there.

    ``resolve`` is False when the scope's audit had errors. Errors of the API calls themselves
    (``InvalidAccessException`` where Security Hub is not enabled, access denied) are raised.
    """
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    product = product_arn(partition, region, account)
    active = {record["Id"]: record for record in _active(client, product, account, region)}
    current = [to_asff(finding, partition=partition, now=stamp,
                       first_seen=active.get(finding_id(finding), {}).get("CreatedAt")) for finding in findings]
    found = {record["Id"] for record in current}
    gone = [record for record_id, record in sorted(active.items()) if record_id not in found] if resolve else []
    result = SyncResult()
    refused: Counter = Counter()
    failed_ids = set()
    for batch in batches(current + [_archived(record, stamp) for record in gone], BATCH):
        response = client.batch_import_findings(Findings=batch)
        for failure in response.get("FailedFindings", ()):
            failed_ids.add(failure.get("Id"))
            refused[("import", failure.get("ErrorCode"), failure.get("ErrorMessage"))] += 1
    result.imported = sum(record["Id"] not in failed_ids for record in current)
    resolved = [record for record in gone if record["Id"] not in failed_ids]
    to_update = [record for record in resolved if (record.get("Workflow") or {}).get("Status") not in _KEEPS_WORKFLOW]
    unprocessed = set()
    for batch in batches(to_update, BATCH):
        response = client.batch_update_findings(
            FindingIdentifiers=[{"Id": record["Id"], "ProductArn": record["ProductArn"]} for record in batch],
            Workflow={"Status": "RESOLVED"})
        for failure in response.get("UnprocessedFindings", ()):
            unprocessed.add(failure["FindingIdentifier"]["Id"])
            refused[("resolve", failure.get("ErrorCode"), failure.get("ErrorMessage"))] += 1
    result.resolved = [record["Id"] for record in resolved if record["Id"] not in unprocessed]
    result.errors = [f"Security Hub did not {action} {count} finding{'s' if count > 1 else ''}: {code}: {message}"
                     for (action, code, message), count in sorted(refused.items(), key=str)]
    return result


def _active(client, product: str, account: str, region: str):
    """sagewise's ACTIVE findings of ``account`` in ``region``.

    The filters keep out other products' findings, other accounts' (an administrator sees its members'),
    and other regions' (a cross-region aggregator holds its linked regions'); the same conditions are
    checked again on what comes back, so that nothing but sagewise's own findings here is ever resolved.
    """
    filters = {
        "ProductArn": [{"Value": product, "Comparison": "EQUALS"}],
        "AwsAccountId": [{"Value": account, "Comparison": "EQUALS"}],
        "Region": [{"Value": region, "Comparison": "EQUALS"}],
        "GeneratorId": [{"Value": GENERATOR_PREFIX, "Comparison": "PREFIX"}],
        "RecordState": [{"Value": "ACTIVE", "Comparison": "EQUALS"}],
    }
    for page in client.get_paginator("get_findings").paginate(Filters=filters, PaginationConfig={"PageSize": BATCH}):
        for record in page.get("Findings", ()):
            if (record.get("ProductArn") == product and record.get("AwsAccountId") == account
                    and record.get("Region", region) == region and record.get("RecordState") == "ACTIVE"
                    and record.get("GeneratorId", "").startswith(GENERATOR_PREFIX)):
                yield record


_PROVIDER_FIELDS = ("SchemaVersion", "Id", "ProductArn", "ProductName", "CompanyName", "GeneratorId", "AwsAccountId",
                    "Types", "CreatedAt", "FirstObservedAt", "LastObservedAt", "Severity", "FindingProviderFields",
                    "Title", "Description", "Remediation", "Resources")


def _archived(record: dict, now: str) -> dict:
    """A finding Security Hub holds, as the provider re-imports it to archive it.

    Only the provider's own fields are sent back: the customer's (Workflow, Note) cannot be imported, and
    Security Hub's own (``ProcessedAt``, ``aws/securityhub/*`` product fields) are not ours to send.
    """
    archived = {name: record[name] for name in _PROVIDER_FIELDS if name in record}
    archived["ProductFields"] = {key: value for key, value in (record.get("ProductFields") or {}).items()
                                 if key.startswith(GENERATOR_PREFIX)}
    archived.update(UpdatedAt=now, RecordState="ARCHIVED")
    return archived


def _product_fields(finding: dict) -> dict:
    fields = {"sagewise/RuleId": finding["rule_id"], "sagewise/RuleName": finding["rule_name"],
              "sagewise/Fingerprint": finding["fingerprint"]}
    if finding.get("path"):
        fields["sagewise/Path"] = finding["path"]
    for key, name in (("monthly_cost_usd", "MonthlyCostUsd"), ("monthly_savings_usd", "MonthlySavingsUsd")):
        if finding.get(key) is not None:
            fields[f"sagewise/{name}"] = f"{finding[key]:.2f}"
    for name, value in sorted((finding.get("evidence") or {}).items()):
        if value is not None:
            fields[f"sagewise/evidence/{name}"] = str(value)
    return fields


def _resource_type(arn: str) -> str:
    """``sagemaker:endpoint`` of ``arn:aws:sagemaker:us-east-1:1:endpoint/x``: which kind of resource it is."""
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return "unknown"
    return f"{parts[2]}:{parts[5].split('/', 1)[0]}"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."
