"""The DuckDB store: schema (``schema.sql``), locking (:mod:`.db`), writes, reads."""

from hybriddash.store.db import SCHEMA_VERSION, Store, StoreBusyError, StoreError

__all__ = ["SCHEMA_VERSION", "Store", "StoreBusyError", "StoreError"]
