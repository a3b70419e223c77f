"""The module cfn-lint loads from ``--append-rules "$(sagewise cfnlint-rules)"`` (or, as a module path in
``.cfnlintrc``, ``append_rules: [auditor.cfnlint_rules.sagewise_rules]``).

cfn-lint instantiates every ``CloudFormationLintRule`` subclass it finds in the module's namespace;
they are built from sagewise's rule files when the module is imported (see ``_adapter``), so there is
no rule here to keep in step with ``rules/``.
"""

from auditor.cfnlint_rules._adapter import rule_classes

globals().update(rule_classes())
