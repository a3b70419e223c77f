"""Constants the command line defines its options with, kept apart from the modules that use them.

``sagewise lint`` starts without importing :mod:`auditor.iam` (it builds its policies when imported)
or the remediation (boto3), yet the options of ``audit``, ``iam-policy`` and ``remediate`` check
and show these values when the command line is built. Those modules import them from here.
"""

DEFAULT_MAX_CHANGES = 50
"""The most steps ``sagewise remediate --apply`` applies from one plan, unless ``--max-changes`` says otherwise."""

PARTITIONS = ("aws", "aws-cn", "aws-us-gov")
"""Partitions a policy can be printed for (the ARN prefix differs: ``arn:aws-cn:...``)."""
DEFAULT_ROLE_NAME = "SagewiseAudit"
DEFAULT_ROLE_SESSION_NAME = "sagewise-audit"
DEFAULT_REMEDIATION_ROLE_NAME = "SagewiseRemediate"
"""The role ``sagewise remediate --apply`` and ``sagewise undo`` assume in other accounts: it writes, so it is
not the audit's read-only role."""
# IAM's and STS's patterns for what the audit options name (AssumeRole would refuse anything else).
ACCOUNT_PATTERN = r"\d{12}"
ROLE_NAME_PATTERN = r"[\w+=,.@-]{1,64}"
ROLE_SESSION_NAME_PATTERN = r"[\w+=,.@-]{2,64}"
EXTERNAL_ID_PATTERN = r"[\w+=,.@:/-]{2,1224}"
