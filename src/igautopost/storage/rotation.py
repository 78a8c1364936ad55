"""Re-encrypting every stored secret under the cipher's first key (`igautopost secrets rotate`).

The secrets: each post's Instagram token, each account's token, and the API keys the token
endpoint hands out again. Each row is rewritten only if it still holds the ciphertext that was
read, so a token stored or refreshed meanwhile by a running worker is never overwritten; the
pass repeats until nothing is left under an older key (or `max_passes` is reached).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from ..secretbox import TokenCipher
from .tables import accounts, api_tokens, posts

BATCH = 500
SECRET_COLUMNS: tuple[tuple[sa.Table, str], ...] = (
    (posts, "token_ciphertext"),
    (accounts, "token_ciphertext"),
    (api_tokens, "key_ciphertext"),
)


@dataclass
class RotationReport:
    """How many secrets were re-encrypted per table, and how many are still under old keys."""

    rewritten: dict[str, int] = field(default_factory=dict)
    remaining: int = 0

    @property
    def total(self) -> int:
        return sum(self.rewritten.values())


def reencrypt_all(engine: sa.Engine, cipher: TokenCipher, *, max_passes: int = 3) -> RotationReport:
    report = RotationReport()
    for _ in range(max_passes):
        changed = 0
        for table, column in SECRET_COLUMNS:
            done = _reencrypt(engine, cipher, table, column)
            report.rewritten[table.name] = report.rewritten.get(table.name, 0) + done
            changed += done
        if changed == 0:
            break
    report.remaining = sum(len(_stale(engine, cipher, t, c)) for t, c in SECRET_COLUMNS)
    return report


def _stale(
    engine: sa.Engine, cipher: TokenCipher, table: sa.Table, column: str
) -> list[tuple[int, str]]:
    col = table.c[column]
    with engine.connect() as conn:
        rows = conn.execute(sa.select(table.c.id, col).where(col.is_not(None))).all()
    return [(row[0], row[1]) for row in rows if not cipher.is_current(row[1])]


def _reencrypt(engine: sa.Engine, cipher: TokenCipher, table: sa.Table, column: str) -> int:
    col = table.c[column]
    stale = _stale(engine, cipher, table, column)
    done = 0
    for start in range(0, len(stale), BATCH):
        with engine.begin() as conn:
            for row_id, old in stale[start : start + BATCH]:
                statement = (
                    table.update()
                    .where(table.c.id == row_id, col == old)
                    .values({column: cipher.rotate(old)})
                )
                done += conn.execute(statement).rowcount
    return done
