"""The PostgreSQL backend: one module per concern, composed in ``store.PostgresStore``."""

from eventsapi.storage.postgres.connection import describe
from eventsapi.storage.postgres.rows import row_values
from eventsapi.storage.postgres.store import PostgresStore

__all__ = ["PostgresStore", "describe", "row_values"]
