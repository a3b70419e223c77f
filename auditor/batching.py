"""Lists cut into the batches an API takes in one request: alarm names, metric queries, Security Hub findings.

Its own module so that the live source (:mod:`auditor.sources.aws`) and :mod:`auditor.securityhub` share it
without one importing the other; it imports nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence


def batches(items: Sequence, size: int) -> Iterator[Sequence]:
    """Consecutive slices of ``items``, each of at most ``size``, in order; none for no items."""
    for start in range(0, len(items), size):
        yield items[start:start + size]
