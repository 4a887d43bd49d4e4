"""SQL for unsure flags: an annotator marks a span or a whole document as unsure, with a
short note (Prodigy's ignore, a comment); reviewers see them and exports carry them.

A mixin of :class:`workbench.store.Store`. The table is created by migration 7 (``schema.py``).
"""

from __future__ import annotations


class FlagQueries:
    """Reads and writes of the ``flags`` table (filled in with the table)."""
