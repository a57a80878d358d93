"""The database refuses to change or remove audit records (append-only at the database level).

Migration 0007 installs these triggers; tests and ``award demo --reset`` use the helpers below.
On PostgreSQL one trigger function raises on UPDATE or DELETE of a row and on TRUNCATE of the table;
on SQLite ``BEFORE UPDATE``/``BEFORE DELETE`` triggers abort the statement. Dropping a whole table
(a migration's downgrade, ``award demo --reset``, a backup restore) is not a row change and is not
refused: the owner of the database can always replace it, which is why the application itself should
run as a role that may only INSERT and SELECT (scripts/postgres-app-role.sql).
"""

from __future__ import annotations

from collections.abc import Callable

# The append-only tables: the hash chain and its Merkle checkpoints.
APPEND_ONLY_TABLES = ("audit_event", "audit_checkpoint")
PG_FUNCTION = "audit_append_only"

_PG_FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION {PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def _pg_create(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {PG_FUNCTION}()",
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {PG_FUNCTION}()",
    ]


def _sqlite_create(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {op} refused'); END"
        for op in ("UPDATE", "DELETE")
    ]


def _sqlite_drop(table: str) -> list[str]:
    return [f"DROP TRIGGER IF EXISTS {table}_no_{op}" for op in ("update", "delete")]


def create_statements(dialect: str, tables: tuple[str, ...] = APPEND_ONLY_TABLES) -> list[str]:
    """The DDL that makes ``tables`` append-only."""
    if dialect == "postgresql":
        return [_PG_FUNCTION_SQL] + [sql for table in tables for sql in _pg_create(table)]
    if dialect == "sqlite":
        return [sql for table in tables for sql in _sqlite_create(table)]
    raise NotImplementedError(f"append-only triggers for {dialect}")


def drop_statements(dialect: str, tables: tuple[str, ...] = APPEND_ONLY_TABLES) -> list[str]:
    """The DDL that undoes ``create_statements`` (the migration's downgrade)."""
    if dialect == "postgresql":
        return ([f"DROP TRIGGER IF EXISTS {table}_no_{what} ON {table}"
                 for table in tables for what in ("change", "truncate")]
                + [f"DROP FUNCTION IF EXISTS {PG_FUNCTION}()"])
    if dialect == "sqlite":
        return [sql for table in tables for sql in _sqlite_drop(table)]
    raise NotImplementedError(f"append-only triggers for {dialect}")


def lift_statements(dialect: str, tables: tuple[str, ...] = APPEND_ONLY_TABLES) -> list[str]:
    """Switch the guard off (only for tests that tamper on purpose and for emptying a test database)."""
    if dialect == "postgresql":
        return [f"ALTER TABLE {table} DISABLE TRIGGER USER" for table in tables]
    return [sql for table in tables for sql in _sqlite_drop(table)]


def restore_statements(dialect: str, tables: tuple[str, ...] = APPEND_ONLY_TABLES) -> list[str]:
    if dialect == "postgresql":
        return [f"ALTER TABLE {table} ENABLE TRIGGER USER" for table in tables]
    return create_statements(dialect, tables)


def run(execute: Callable[[str], object], statements: list[str]) -> None:
    for sql in statements:
        execute(sql)
