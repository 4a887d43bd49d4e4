"""SQL for bulk reads for export (documents, gold, annotations) and the rows import needs.

A mixin of :class:`workbench.store.Store`: its methods use ``self.conn`` (reads) and
``self.write()`` (short write transactions) of the store they are mixed into. Domain code
calls these typed methods and never touches ``store.conn`` itself.
"""

from __future__ import annotations

import sqlite3


class ExchangeQueries:
    conn: sqlite3.Connection
