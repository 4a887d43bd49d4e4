"""The store: the only code that holds SQL. One SQLite file (WAL), safe for several annotators.

``Store`` (``db.py``) owns the connection and short write transactions; the SQL of each area is
a mixin beside it (``review.py``, ``exchange.py``, ``ops.py``). Domain code calls typed methods;
nothing outside this package runs SQL or touches ``store.conn`` (tests/test_layers.py).
A second backend (PostgreSQL) implements the same methods.

sqlite-utils: migrations (``schema.py``) are functions over a ``sqlite_utils.Database`` on the
store's own connection, and it serves introspection (``Store.db``). Bulk inserts stay on
``executemany`` inside the store's ``BEGIN IMMEDIATE`` transactions: ``bench/store_inserts.py``
measured ``Table.insert_all`` at 2.4x the time of ``executemany`` for 200,000 proposal rows in
one transaction (1.06 s vs 2.51 s), and those are the propose/ingest/import hot paths.
"""

from .db import (
    DEFAULT_DB,
    NoSuchDatabase,
    Store,
    StoreError,
    describe_error,
    input_hash,
    now_iso,
    pack_ints,
    task_hash,
    unpack_ints,
)
from .schema import SCHEMA_VERSION

__all__ = [
    "DEFAULT_DB",
    "SCHEMA_VERSION",
    "NoSuchDatabase",
    "Store",
    "StoreError",
    "describe_error",
    "input_hash",
    "now_iso",
    "pack_ints",
    "task_hash",
    "unpack_ints",
]
