"""``python -m auditor`` runs the ``sagewise`` command."""

from .cli import main

main()
