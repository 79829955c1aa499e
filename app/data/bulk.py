"""Bulk writing: many rows into a table inside the caller's transaction, the fastest way
each database has. The one module that knows which database it is talking to.

- PostgreSQL: rows go as COPY text into a temporary staging table; every MERGE_EVERY rows
  and at the end one set-based `INSERT ... SELECT [ON CONFLICT ... DO UPDATE ... WHERE
  <something changed>]` merges the staging table into the target and empties it.
- SQLite: each batch is bound as one JSON array to one `INSERT ... SELECT ... FROM
  json_each(?) [ON CONFLICT ...]` statement: a whole batch in one sqlite3_step, which
  releases the GIL throughout. (An executemany takes the GIL back for every row, a
  convoy with a parser thread; multi-row VALUES binds thousands of parameters holding
  the GIL. Both were measured slower.)

The API is generic (a table, its column names, rows as tuples): `upsert_loader` for a
stream of batches merged by a unique key, with counts of what it did; `insert_rows` for a
plain fast insert (a temporary table of keys, say); `temporary_table` for such a table;
`bulk_insert` and `insert_ignoring` for rows as dicts in an ORM session (waves of offers
and their queued invitations), the latter skipping rows that hit a unique index.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import (
    Column,
    MetaData,
    Table,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

Encode = Callable[[list[tuple[Any, ...]]], Any]

_temporary = MetaData()


def temporary_table(name: str, *columns: Column[Any]) -> Table:
    """A temporary table definition (created per connection with `.create(conn)`)."""
    if name in _temporary.tables:
        return _temporary.tables[name]
    return Table(name, _temporary, *columns, prefixes=["TEMPORARY"])


@dataclass(frozen=True)
class Upsert:
    """Rows carrying `columns` (in order) into `table`, matched on the unique `key`.

    Every row also gets `constants` (say a foreign key and timestamps). A row whose key
    exists changes it only when one of `updatable` differs, or a `reset` column is not
    its reset value; it then takes the new `updatable` values, the `touch` constants and
    the `reset` values. `scope` selects the rows of the target this load can match (for
    counting on SQLite); `fresh` says nothing in scope exists, so a plain INSERT does
    (no speculative insertion). Imports of one scope must be serialised by the caller.
    """

    table: Table
    columns: tuple[str, ...]
    key: tuple[str, ...]
    scope: ColumnElement[bool]
    constants: Mapping[str, Any] = field(default_factory=dict)
    updatable: tuple[str, ...] = ()
    touch: tuple[str, ...] = ()
    reset: Mapping[str, Any] = field(default_factory=dict)
    fresh: bool = False


class Loader:
    """Loads batches of rows inside the caller's transaction.

    A context manager: leaving the block ends the bulk load (on error too, so a
    PostgreSQL COPY is never left waiting for data); `finish()` afterwards completes the
    merge and returns (rows that were already there, rows inserted or changed).
    `encode` turns a batch of rows into what `load` takes; it may run in another thread.
    """

    encode: Encode

    def __enter__(self) -> Loader:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close(exc_info)

    def ahead(self, batch_size: int) -> int:
        """How many encoded batches a producer may get ahead of `load`."""
        return 4

    def close(self, exc_info: tuple[Any, ...]) -> None:
        raise NotImplementedError

    def load(self, batch: Any, rows: int) -> None:
        raise NotImplementedError

    def finish(self) -> tuple[int, int]:
        raise NotImplementedError


def upsert_loader(conn: Connection, spec: Upsert) -> Loader:
    """The loader for `spec` on this connection's database."""
    if conn.dialect.name == "postgresql":
        return _PostgresUpsert(conn, spec)
    return _SqliteUpsert(conn, spec)


def insert_rows(
    conn: Connection, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Insert `rows` into `table` in one statement: COPY on PostgreSQL, a JSON array on SQLite."""
    if conn.dialect.name == "postgresql":
        raw: Any = conn.connection.driver_connection
        names = ", ".join(columns)
        with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            copy.write(copy_text(list(map(tuple, rows)), len(columns)))
        return
    batch = [list(r) for r in rows]
    if batch:
        values = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(columns)))
        conn.exec_driver_sql(
            f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT {values} FROM json_each(?)",
            (json.dumps(batch),),
        )


_COPY_NULL = "\\N"
_COPY_SPECIAL = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NUL = "\x00"


def _copy_field(value: Any) -> str:
    if value is None:
        return _COPY_NULL
    return str(value).translate(_COPY_SPECIAL)


def copy_text(batch: list[tuple[Any, ...]], width: int) -> bytes:
    """Rows of `width` values as PostgreSQL COPY text: tab-separated, \\N for null.

    The fast line marks nulls with NUL (which PostgreSQL text cannot hold, so callers
    never pass one) and assumes no tab, newline, carriage return or backslash in any
    value; a line that has one is rebuilt with every value escaped.
    """
    tabs = width - 1
    lines: list[str] = []
    append = lines.append
    for row in batch:
        line = "\t".join([_NUL if v is None else str(v) for v in row])
        if line.count("\t") != tabs or "\\" in line or "\n" in line or "\r" in line:
            line = "\t".join(_copy_field(v) for v in row)
        else:
            line = line.replace(_NUL, _COPY_NULL)
        append(line)
    append("")
    return "\n".join(lines).encode("utf-8")


class _SqliteUpsert(Loader):
    """SQLite: one upsert statement a batch, the batch bound as one JSON array.

    The constants are bound once per statement, as the text their column types write.
    Rows already there = rows loaded less the rows `scope` gained (one writer at a time
    on SQLite); inserted-or-changed is the connection's total_changes (an upsert whose
    WHERE is false changes nothing and is not counted).
    """

    encode = staticmethod(json.dumps)

    def __init__(self, conn: Connection, spec: Upsert) -> None:
        raw = conn.connection.driver_connection
        assert raw is not None
        self.conn = conn
        self.raw = raw
        self.cursor = raw.cursor()
        self.spec = spec
        dialect = conn.dialect

        def bind(name: str, value: Any) -> Any:
            process = spec.table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            return process(value) if process is not None else value

        self.params = [bind(c, v) for c, v in spec.constants.items()]
        columns = ", ".join((*spec.constants, *spec.columns))
        if sqlite3.sqlite_version_info >= (3, 38):  # ->> reads a row's array fastest
            values = ", ".join(f"value ->> {i}" for i in range(len(spec.columns)))
        else:
            values = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(spec.columns)))
        constants = ", ".join("?" for _ in spec.constants)
        name = spec.table.name
        self.statement = (
            f"INSERT INTO {name} ({columns}) SELECT {constants}{', ' if constants else ''}"
            f"{values} FROM json_each(?) WHERE true "  # WHERE: the upsert parsing ambiguity
        )
        if not spec.fresh:
            sets = [f"{c} = excluded.{c}" for c in (*spec.updatable, *spec.touch)]
            differs = [f"{name}.{c} IS NOT excluded.{c}" for c in spec.updatable]
            for c in spec.reset:
                sets.append(f"{c} = ?")
                differs.append(f"{name}.{c} IS NOT ?")
            self.statement += (
                f"ON CONFLICT ({', '.join(spec.key)}) DO UPDATE SET {', '.join(sets)} "
                f"WHERE {' OR '.join(differs)}"
            )
        reset = [bind(c, v) for c, v in spec.reset.items()]
        # positional: constants, the batch, the reset values in SET, then in WHERE
        self.after = [] if spec.fresh else [*reset, *reset]
        self.before = self._count()
        self.loaded = 0
        self.changed = 0
        # a bigger page cache for the length of the load: the indexes of a million-row
        # table do not fit the 2 MB default, and thrashing it is slow
        self.cache_size = self.cursor.execute("PRAGMA cache_size").fetchone()[0]
        self.cursor.execute("PRAGMA cache_size = -65536")

    def _count(self) -> int:
        query = select(func.count()).select_from(self.spec.table).where(self.spec.scope)
        return int(self.conn.scalar(query) or 0)

    def load(self, batch: Any, rows: int) -> None:
        if not isinstance(batch, str):
            batch = json.dumps(batch)
        before = self.raw.total_changes
        self.cursor.execute(self.statement, (*self.params, batch, *self.after))
        self.changed += self.raw.total_changes - before
        self.loaded += rows

    def close(self, exc_info: tuple[Any, ...]) -> None:
        self.cursor.execute(f"PRAGMA cache_size = {int(self.cache_size)}")
        self.cursor.close()

    def finish(self) -> tuple[int, int]:
        added = self._count() - self.before
        return self.loaded - added, self.changed


class _PostgresUpsert(Loader):
    """PostgreSQL: COPY rows into a temporary staging table (the target's own column
    types) and, every MERGE_EVERY rows and at the end, merge it into the target with one
    statement, then empty it. Merging in chunks lets the server merge one chunk while the
    producer encodes the next rows (psycopg releases the GIL while it waits); it is all
    one transaction still. A fresh load merges with a plain INSERT ... SELECT, skipping
    the speculative insertion ON CONFLICT costs (about a fifth of the merge).
    """

    MERGE_EVERY = 100_000

    def __init__(self, conn: Connection, spec: Upsert) -> None:
        self.conn = conn
        self.spec = spec
        raw = conn.connection.driver_connection
        assert raw is not None
        self.raw: Any = raw
        width = len(spec.columns)
        self.encode = lambda batch: copy_text(batch, width)
        self.staging_name = f"{spec.table.name}_staging"
        conn.execute(text(f"DROP TABLE IF EXISTS {self.staging_name}"))
        self.staging = Table(
            self.staging_name,
            MetaData(),
            *(Column(c, spec.table.c[c].type) for c in spec.columns),
            prefixes=["TEMPORARY"],
        )
        self.staging.create(conn)
        self.merge_sql = self._insert_statement() if spec.fresh else self._upsert_statement()
        self.pending = 0
        self.existing = 0
        self.changed = 0
        self.copy_cm: Any = None
        self._start_copy()

    def ahead(self, batch_size: int) -> int:
        # room for a merge chunk and a bit: the producer runs on while the server merges
        return self.MERGE_EVERY // max(batch_size, 1) + 4

    def _start_copy(self) -> None:
        self.cursor = self.raw.cursor()
        columns = ", ".join(self.spec.columns)
        self.copy_cm = self.cursor.copy(f"COPY {self.staging_name} ({columns}) FROM STDIN")
        self.copy = self.copy_cm.__enter__()

    def _end_copy(self, exc_info: tuple[Any, ...] = (None, None, None)) -> None:
        # on error psycopg sends CopyFail, so the server ends the COPY and the
        # transaction can roll back; on success it sends CopyDone
        copy_cm, self.copy_cm = self.copy_cm, None
        try:
            copy_cm.__exit__(*exc_info)
        finally:
            self.cursor.close()

    def load(self, batch: Any, rows: int) -> None:
        self.copy.write(batch)
        self.pending += rows
        if self.pending >= self.MERGE_EVERY:
            self._end_copy()
            self._merge()
            self._start_copy()

    def close(self, exc_info: tuple[Any, ...]) -> None:
        if self.copy_cm is not None:
            self._end_copy(exc_info)

    def finish(self) -> tuple[int, int]:
        if self.pending:
            self._merge()
        self.conn.execute(text(f"DROP TABLE {self.staging_name}"))
        return self.existing, self.changed

    def _insert(self) -> Any:
        spec = self.spec
        constants = [literal(v, spec.table.c[c].type).label(c) for c, v in spec.constants.items()]
        source = select(*constants, *(self.staging.c[c] for c in spec.columns))
        return postgresql.insert(spec.table).from_select([*spec.constants, *spec.columns], source)

    def _insert_statement(self) -> Any:
        """(rows written, rows added): the same shape as `_upsert_statement`'s answer."""
        inserted = self._insert().returning(literal_column("1").label("one")).cte("inserted")
        return select(func.count(), func.count()).select_from(inserted)

    def _upsert_statement(self) -> Any:
        spec = self.spec
        target = cast(Table, spec.table)
        stmt = self._insert()
        differs = or_(
            *(target.c[c].is_distinct_from(stmt.excluded[c]) for c in spec.updatable),
            *(target.c[c].is_distinct_from(v) for c, v in spec.reset.items()),
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[target.c[c] for c in spec.key],
            set_={
                **{c: stmt.excluded[c] for c in (*spec.updatable, *spec.touch)},
                **spec.reset,
            },
            where=differs,
        )
        # One pass counts both: RETURNING lists inserted and updated rows, and xmax = 0
        # marks a row this statement inserted (PostgreSQL's documented upsert idiom).
        # Counted through RETURNING because psycopg's rowcount is not kept after a COPY.
        upserted = stmt.returning(literal_column("xmax = 0").label("inserted")).cte("upserted")
        return select(func.count(), func.count().filter(upserted.c.inserted))

    def _merge(self) -> None:
        # a temporary table has no statistics until analysed
        self.conn.execute(text(f"ANALYZE {self.staging_name}"))
        changed, added = self.conn.execute(self.merge_sql).one()
        self.existing += self.pending - int(added or 0)
        self.changed += int(changed or 0)
        self.conn.execute(text(f"TRUNCATE {self.staging_name}"))
        self.pending = 0


# --- rows as dicts in the caller's ORM session: waves of offers, queued messages ---------

CHUNK = 5000  # rows per statement: well under PostgreSQL's 65535 parameters


def table_of(model: Any) -> Table:
    """A model's Core table (typed for mypy): bulk statements skip the ORM."""
    return cast(Table, model.__table__)


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def bulk_insert(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Plain bulk insert: COPY on PostgreSQL (the fastest way in), executemany elsewhere."""
    if not rows:
        return
    if is_postgresql(session):
        _copy(session, table.name, rows)
    else:
        session.execute(insert(table), rows)


def _copy(session: Session, table_name: str, rows: list[dict[str, Any]]) -> None:
    columns = list(rows[0])
    names = ", ".join(f'"{c}"' for c in columns)
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f'COPY "{table_name}" ({names}) FROM STDIN') as copy:
        for chunk in chunks(rows):
            copy.write(copy_text([tuple(row[c] for c in columns) for row in chunk], len(columns)))


def insert_ignoring(
    session: Session,
    table: Table,
    rows: list[dict[str, Any]],
    *,
    index_elements: Sequence[str],
    index_where: str | None = None,
    returning: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """Insert `rows`, skipping any that conflict on the unique index over `index_elements`
    (partial: `index_where`); the `returning` columns of the rows inserted.

    PostgreSQL: COPY into a scratch table, then one INSERT ... SELECT ... ON CONFLICT DO
    NOTHING (no parameter per value). SQLite: one executemany, which SQLAlchemy batches
    into multi-row INSERT ... ON CONFLICT DO NOTHING ... RETURNING statements.
    """
    if not rows:
        return []
    if not is_postgresql(session):
        statement = sqlite.insert(table).on_conflict_do_nothing(
            index_elements=list(index_elements),
            index_where=text(index_where) if index_where else None,
        )
        if not returning:
            session.execute(statement, rows)
            return []
        returned = statement.returning(*(table.c[c] for c in returning))
        return [tuple(r) for r in session.execute(returned, rows)]
    columns = list(rows[0])
    names = ", ".join(f'"{c}"' for c in columns)
    scratch = f"staged_{table.name}"
    session.execute(
        text(
            f"CREATE TEMP TABLE {scratch} ON COMMIT DROP AS"
            f' SELECT {names} FROM "{table.name}" LIMIT 0'
        )
    )
    _copy(session, scratch, rows)
    target = f"({', '.join(index_elements)})" + (f" WHERE {index_where}" if index_where else "")
    back = f" RETURNING {', '.join(returning)}" if returning else ""
    result = session.execute(
        text(
            f'INSERT INTO "{table.name}" ({names}) SELECT {names} FROM {scratch}'
            f" ON CONFLICT {target} DO NOTHING{back}"
        )
    )
    found = [tuple(r) for r in result] if returning else []
    session.execute(text(f"DROP TABLE {scratch}"))
    return found
