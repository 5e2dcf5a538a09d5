"""Chat sessions belong to an account; names are unique per owner.

Revision ID: 0005_chat_owner
Revises: 0004_store_identity

Existing sessions (made by `logchat ask --session`) get no owner: they stay the command line's, with
the names they had. A session of an account is deleted with the account (ON DELETE CASCADE): an
orphaned one would become a command-line session, readable by anyone who opens the store, and could
clash with a command-line session of the same name.

Uniqueness: (owner_id, name) for accounts, and name alone among sessions without an owner. NULLs are
distinct in unique indexes on both SQLite and PostgreSQL, so the second rule is a partial index.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_chat_owner"
down_revision = "0004_store_identity"
branch_labels = None
depends_on = None

_NO_OWNER = sa.text("owner_id IS NULL")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        # SQLite changes a constraint by copying the table and dropping the old one; with foreign keys
        # on (they always are here, and the pragma cannot change inside the migration's transaction)
        # that drop cascades to every turn. Keep the turns aside and put them back.
        op.execute("CREATE TABLE _chat_turns_kept AS SELECT * FROM chat_turns")
    with op.batch_alter_table("chat_sessions") as batch:
        batch.add_column(sa.Column("owner_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_chat_sessions_owner_id_users", "users", ["owner_id"], ["id"], ondelete="CASCADE"
        )
        batch.drop_constraint("uq_chat_sessions_name", type_="unique")
    if sqlite:
        op.execute("DELETE FROM chat_turns")  # nothing should be left; no duplicate either way
        op.execute("INSERT INTO chat_turns SELECT * FROM _chat_turns_kept")
        op.execute("DROP TABLE _chat_turns_kept")
    op.create_index("uq_chat_sessions_owner_id_name", "chat_sessions", ["owner_id", "name"], unique=True)
    op.create_index(
        "uq_chat_sessions_name_no_owner", "chat_sessions", ["name"], unique=True,
        sqlite_where=_NO_OWNER, postgresql_where=_NO_OWNER,
    )


def downgrade() -> None:
    # The old schema has one namespace of names and no owners: the accounts' sessions cannot be kept.
    op.execute("DELETE FROM chat_sessions WHERE owner_id IS NOT NULL")
    op.drop_index("uq_chat_sessions_name_no_owner", "chat_sessions")
    op.drop_index("uq_chat_sessions_owner_id_name", "chat_sessions")
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("CREATE TABLE _chat_turns_kept AS SELECT * FROM chat_turns")
    with op.batch_alter_table("chat_sessions") as batch:
        batch.drop_constraint("fk_chat_sessions_owner_id_users", type_="foreignkey")
        batch.drop_column("owner_id")
        batch.create_unique_constraint("uq_chat_sessions_name", ["name"])
    if sqlite:
        op.execute("DELETE FROM chat_turns")
        op.execute("INSERT INTO chat_turns SELECT * FROM _chat_turns_kept")
        op.execute("DROP TABLE _chat_turns_kept")
