"""Alembic environment: the URL comes from the caller (``core.migrate``), never a file."""

from __future__ import annotations

from alembic import context

import jichitai.bootstrap  # noqa: F401  (registers every table on Base.metadata)
from core.db import Base, make_engine

config = context.config
url = config.get_main_option("sqlalchemy.url")
assert url, "core.migrate sets sqlalchemy.url"

connection = config.attributes.get("connection")
if connection is not None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = make_engine(url)
    with engine.connect() as conn:
        context.configure(
            connection=conn,
            target_metadata=Base.metadata,
            render_as_batch=conn.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
