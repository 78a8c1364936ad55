"""Alembic migrations of the igautopost schema: applied by `igautopost db upgrade`, and on
first use."""
