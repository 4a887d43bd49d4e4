"""SQL for background retraining while people annotate: the one lock row a retraining
worker holds (kept in ``settings``) and the status note the annotate header shows.

A mixin of :class:`workbench.store.Store`.
"""

from __future__ import annotations


class RetrainQueries:
    """The retraining lock and status (filled in with the worker)."""
