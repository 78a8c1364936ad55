"""Alembic migrations of the igautopost schema. Applied by `igautopost db upgrade` and on first use."""
