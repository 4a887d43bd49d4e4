"""SQLite layer of the workbench: schema, migrations, queries. Never imports Textual."""

from .db import DEFAULT_DB, Store, StoreError, input_hash, now_iso, pack_ints, task_hash, unpack_ints
from .schema import SCHEMA_VERSION

__all__ = [
    "DEFAULT_DB",
    "SCHEMA_VERSION",
    "Store",
    "StoreError",
    "input_hash",
    "now_iso",
    "pack_ints",
    "task_hash",
    "unpack_ints",
]
