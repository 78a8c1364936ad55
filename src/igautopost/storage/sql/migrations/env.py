"""Alembic environment: always run programmatically with a connection from igautopost.storage."""

from alembic import context
from sqlmodel import SQLModel

import igautopost.storage.sql.tables  # noqa: F401  (registers the tables on the metadata)

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
