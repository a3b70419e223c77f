"""sagewise: a policy-as-code linter and auditor for machine-learning infrastructure on AWS."""

__version__ = "0.1.0"
