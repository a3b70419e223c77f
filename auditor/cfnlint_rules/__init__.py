"""sagewise's template rules as cfn-lint rules: ``cfn-lint --append-rules "$(sagewise cfnlint-rules)" t.yaml``.

This package is the directory ``--append-rules`` names (:data:`DIRECTORY`, which ``sagewise
cfnlint-rules`` prints). cfn-lint imports each module of it whose name starts with a letter:
:mod:`~auditor.cfnlint_rules.sagewise_rules`, which builds its rule classes with
:mod:`~auditor.cfnlint_rules._adapter`. Importing this package itself imports nothing of cfn-lint, so
the CLI can print the path without paying for it.
"""

from pathlib import Path

DIRECTORY = Path(__file__).resolve().parent
