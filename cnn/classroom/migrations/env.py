"""Alembic's environment: migrate the connection `cnn.classroom.database.upgrade` hands over.

There is no alembic.ini: the database comes from CNN_DB_URL through `cnn.settings`, and the
upgrade is run programmatically on first use (`alembic.command.upgrade(config, "head")` with
the open connection in `config.attributes["connection"]`).
"""

from alembic import context

from cnn.classroom.models import Base

connection = context.config.attributes["connection"]
# batch mode: SQLite alters a table by copying it, which later migrations will need
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
