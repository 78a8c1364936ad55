"""Re-encrypting every stored secret under the cipher's first key (`igautopost secrets rotate`).

The secrets: each post's Instagram token, each account's token, and the API keys the token
endpoint hands out again. Each row is rewritten only if it still holds the ciphertext that was
read, so a token stored or refreshed meanwhile by a running worker is never overwritten; the
pass repeats until nothing is left under an older key (or `max_passes` is reached).

Older keys are dropped only by a separate step (`igautopost secrets prune`), and only once
`under_old_keys` finds no secret that still needs one: a worker that has not reloaded the keys
may go on writing under its own first key after a rotation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from ...crypto import TokenCipher
from .tables import accounts, api_tokens, posts

BATCH = 500
SECRET_COLUMNS: tuple[tuple[sa.Table, str], ...] = (
    (posts, "token_ciphertext"),
    (accounts, "token_ciphertext"),
    (api_tokens, "key_ciphertext"),
)


@dataclass
class RotationReport:
    """How many secrets were re-encrypted per table, how many are still under old keys, and
    how many of those no configured key can decrypt (their key was dropped before)."""

    rewritten: dict[str, int] = field(default_factory=dict)
    remaining: int = 0
    undecryptable: int = 0

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
    report.remaining = sum(under_old_keys(engine, cipher).values())
    report.undecryptable = sum(
        1
        for table, column in SECRET_COLUMNS
        for _, old in _stale(engine, cipher, table, column)
        if not cipher.can_decrypt(old)
    )
    return report


def under_old_keys(engine: sa.Engine, cipher: TokenCipher) -> dict[str, int]:
    """How many secrets per table are not encrypted under the first key: each needs an
    older key (or one already lost) to be read."""
    return {
        table.name: len(_stale(engine, cipher, table, column)) for table, column in SECRET_COLUMNS
    }


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
                if not cipher.can_decrypt(old):  # counted in the report, left as it is
                    continue
                statement = (
                    table.update()
                    .where(table.c.id == row_id, col == old)
                    .values({column: cipher.rotate(old)})
                )
                done += conn.execute(statement).rowcount
    return done
