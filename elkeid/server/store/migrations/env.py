"""Alembic environment: always run online, on the connection the store passes in."""

from alembic import context

from elkeid.server.store._models import Base

config = context.config
connection = config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
