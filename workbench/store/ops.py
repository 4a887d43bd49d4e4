"""SQL for backup, integrity check, statistics for ops commands.

A mixin of :class:`workbench.store.Store`: its methods use ``self.conn`` (reads) and
``self.write()`` (short write transactions) of the store they are mixed into. Domain code
calls these typed methods and never touches ``store.conn`` itself.
"""

from __future__ import annotations

import sqlite3


class OpsQueries:
    conn: sqlite3.Connection
