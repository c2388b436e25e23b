"""Database schema and its versioned migrations (``PRAGMA user_version``)."""

from __future__ import annotations

import logging
import sqlite3

from desktop.library._connection import begin_immediate
from desktop.library.errors import LibraryCorruptError, NewerLibraryError

__all__ = ["APPLICATION_ID", "MIGRATIONS", "SCHEMA_VERSION", "migrate"]

log = logging.getLogger(__name__)

_V1 = """
CREATE TABLE roots (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    added_at REAL NOT NULL,
    last_scan_at REAL
);

CREATE TABLE files (
    id INTEGER PRIMARY KEY,
    root_id INTEGER NOT NULL REFERENCES roots(id) ON DELETE CASCADE,
    path TEXT NOT NULL UNIQUE,
    folder TEXT NOT NULL,
    relfolder TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL,
    ext TEXT NOT NULL,
    size INTEGER,
    mtime REAL,
    fingerprint TEXT,
    duration_s REAL,
    sample_rate INTEGER,
    channels INTEGER,
    bit_depth INTEGER,
    format TEXT,
    subtype TEXT,
    status TEXT NOT NULL DEFAULT 'ok' CHECK (status IN ('ok', 'error', 'missing')),
    error TEXT,
    scanned_at REAL,
    -- A copy of the current caption so that the table, sorting and export read one table.
    caption_id INTEGER,
    caption TEXT,
    keywords TEXT NOT NULL DEFAULT '',
    caption_source TEXT,
    caption_model TEXT,
    captioned_at REAL
);
-- One index per sortable column; the rowid rides along, so ORDER BY col, id uses it.
CREATE INDEX files_root_folder ON files(root_id, folder);
CREATE INDEX files_folder ON files(folder);
CREATE INDEX files_name ON files(name);
CREATE INDEX files_ext ON files(ext);
CREATE INDEX files_format ON files(format);
CREATE INDEX files_size ON files(size);
CREATE INDEX files_mtime ON files(mtime);
CREATE INDEX files_duration ON files(duration_s);
CREATE INDEX files_sample_rate ON files(sample_rate);
CREATE INDEX files_channels ON files(channels);
CREATE INDEX files_bit_depth ON files(bit_depth);
CREATE INDEX files_status ON files(status);
CREATE INDEX files_caption ON files(caption);
CREATE INDEX files_captioned_at ON files(captioned_at);
CREATE INDEX files_fingerprint ON files(fingerprint);

CREATE TABLE captions (
    id INTEGER PRIMARY KEY,
    file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    text TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('model', 'user')),
    clap TEXT,
    llm TEXT,
    params TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL,
    current INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX captions_file ON captions(file_id, created_at);

CREATE TABLE caption_keywords (
    caption_id INTEGER NOT NULL REFERENCES captions(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    keyword TEXT NOT NULL,
    score REAL NOT NULL,
    PRIMARY KEY (caption_id, position)
);
CREATE INDEX caption_keywords_keyword ON caption_keywords(keyword COLLATE NOCASE, caption_id);

CREATE TABLE embeddings (
    id INTEGER PRIMARY KEY,
    file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    model_id TEXT NOT NULL,
    dim INTEGER NOT NULL,
    vector BLOB NOT NULL,
    UNIQUE (file_id, model_id)
);
CREATE INDEX embeddings_model ON embeddings(model_id, id);

CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    force INTEGER NOT NULL DEFAULT 0,
    worker TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX jobs_state ON jobs(state, id);
CREATE INDEX jobs_file ON jobs(file_id);
-- A file is never pending twice: this is what makes "captioned exactly once" hold.
CREATE UNIQUE INDEX jobs_one_pending ON jobs(file_id) WHERE state IN ('queued', 'running');

-- External-content FTS over files; triggers keep it in step with name, folder and caption.
CREATE VIRTUAL TABLE files_fts USING fts5(
    name, relfolder, caption, keywords,
    content='files', content_rowid='id',
    tokenize='unicode61 remove_diacritics 2',
    prefix='2 3'
);
CREATE TRIGGER files_fts_insert AFTER INSERT ON files BEGIN
    INSERT INTO files_fts(rowid, name, relfolder, caption, keywords)
    VALUES (new.id, new.name, new.relfolder, new.caption, new.keywords);
END;
CREATE TRIGGER files_fts_delete AFTER DELETE ON files BEGIN
    INSERT INTO files_fts(files_fts, rowid, name, relfolder, caption, keywords)
    VALUES ('delete', old.id, old.name, old.relfolder, old.caption, old.keywords);
END;
CREATE TRIGGER files_fts_update AFTER UPDATE OF name, relfolder, caption, keywords ON files
BEGIN
    INSERT INTO files_fts(files_fts, rowid, name, relfolder, caption, keywords)
    VALUES ('delete', old.id, old.name, old.relfolder, old.caption, old.keywords);
    INSERT INTO files_fts(rowid, name, relfolder, caption, keywords)
    VALUES (new.id, new.name, new.relfolder, new.caption, new.keywords);
END;
"""

# v2: the table hides missing files by default (status != 'missing'), so the sort indexes
# become partial indexes on exactly that condition. A page far down the table can then be
# found by stepping through the index alone, without reading each row to check its status.
_SORTED = (
    ("name", "name"),
    ("folder", "folder"),
    ("path", "path"),
    ("ext", "ext"),
    ("format", "format"),
    ("size", "size"),
    ("mtime", "mtime"),
    ("duration", "duration_s"),
    ("sample_rate", "sample_rate"),
    ("channels", "channels"),
    ("bit_depth", "bit_depth"),
    ("caption", "caption"),
    ("captioned_at", "captioned_at"),
)
_V2 = "\n".join(
    [f"DROP INDEX IF EXISTS files_{name};" for name, _ in _SORTED]
    + [
        f"CREATE INDEX files_{name}_visible ON files({column}) WHERE status != 'missing';"
        for name, column in _SORTED
    ]
)

# v3: the folder tree and the root counts read (root_id, folder, status, caption_id) of every
# file; one covering index answers both without visiting the table (5x faster at 1M files).
_V3 = """
CREATE INDEX IF NOT EXISTS files_tree ON files(root_id, folder, status, caption_id);
DROP INDEX IF EXISTS files_root_folder;
"""

# v4: prefix indexes up to 6 characters. Every typed word is prefix-matched, and a word longer
# than the longest prefix index had to merge the lists of all its completions at query time
# (40 ms for a two-word search over a million captions; under 1 ms with these indexes).
_V4 = """
DROP TRIGGER files_fts_insert;
DROP TRIGGER files_fts_delete;
DROP TRIGGER files_fts_update;
DROP TABLE files_fts;
CREATE VIRTUAL TABLE files_fts USING fts5(
    name, relfolder, caption, keywords,
    content='files', content_rowid='id',
    tokenize='unicode61 remove_diacritics 2',
    prefix='2 3 4 5 6'
);
INSERT INTO files_fts(files_fts) VALUES ('rebuild');
CREATE TRIGGER files_fts_insert AFTER INSERT ON files BEGIN
    INSERT INTO files_fts(rowid, name, relfolder, caption, keywords)
    VALUES (new.id, new.name, new.relfolder, new.caption, new.keywords);
END;
CREATE TRIGGER files_fts_delete AFTER DELETE ON files BEGIN
    INSERT INTO files_fts(files_fts, rowid, name, relfolder, caption, keywords)
    VALUES ('delete', old.id, old.name, old.relfolder, old.caption, old.keywords);
END;
CREATE TRIGGER files_fts_update AFTER UPDATE OF name, relfolder, caption, keywords ON files
BEGIN
    INSERT INTO files_fts(files_fts, rowid, name, relfolder, caption, keywords)
    VALUES ('delete', old.id, old.name, old.relfolder, old.caption, old.keywords);
    INSERT INTO files_fts(rowid, name, relfolder, caption, keywords)
    VALUES (new.id, new.name, new.relfolder, new.caption, new.keywords);
END;
"""

#: ``PRAGMA application_id`` of an Earmark library ("ERMK"): how a library is told apart from
#: any other SQLite file, which Earmark must never change.
APPLICATION_ID = 0x45524D4B

# v5: reliability.
# - files.audio_fp: a fingerprint of the decoded audio (not of the file's bytes), so a file that
#   was retagged and moved is still recognised, and two different sounds of the same size with
#   identical first and last 64 KiB are not. files.added_at: when a path was first seen, which
#   tells a moved file (new since its old path was last seen) from a copy that was already
#   there (a duplicate, whose deleted twin is missing, not moved).
# - roots.kind: 'files' roots hold files added one by one (a drop); their folder is not adopted.
# - jobs.kind: a file can have one pending job per stage (caption now; the index stage later).
# - jobs.replaces_caption_id: the caption a forced re-caption may replace; a caption the user
#   writes after queueing it is newer and is kept.
# - Jobs left running by an older Earmark were claimed as "host:pid", which cannot be told
#   apart from a live process in a container (every run is pid 1): they are requeued once.
# - application_id marks the file as an Earmark library.
_V5 = f"""
ALTER TABLE files ADD COLUMN audio_fp TEXT;
ALTER TABLE files ADD COLUMN added_at REAL;
CREATE INDEX files_audio_fp ON files(audio_fp) WHERE audio_fp IS NOT NULL;
ALTER TABLE roots ADD COLUMN kind TEXT NOT NULL DEFAULT 'folder'
    CHECK (kind IN ('folder', 'files'));
ALTER TABLE jobs ADD COLUMN kind TEXT NOT NULL DEFAULT 'caption'
    CHECK (kind IN ('caption', 'index'));
ALTER TABLE jobs ADD COLUMN replaces_caption_id INTEGER;
DROP INDEX jobs_one_pending;
CREATE UNIQUE INDEX jobs_one_pending ON jobs(file_id, kind) WHERE state IN ('queued', 'running');
DROP INDEX jobs_state;
CREATE INDEX jobs_state ON jobs(state, kind, attempts, id);
CREATE INDEX jobs_worker ON jobs(worker) WHERE state = 'running';
UPDATE jobs SET state = 'queued', worker = NULL WHERE state = 'running';
PRAGMA application_id = {APPLICATION_ID};
"""

# v6: what files say about themselves (embedded metadata: bext, iXML, INFO, ID3, Vorbis, MP4).
# - file_meta keeps every value with the chunk or tag it came from; files.meta_text is the
#   searchable copy (a fifth FTS column, named as the files column an external-content FTS
#   table reads); files.meta_read marks rows whose metadata was read
#   (older rows are read on the next scan).
# - tag_writes keeps what each "write to files" replaced, so it can be undone.
# - file_tags: the index stage's keyword tags per file and audio model (CLAP zero-shot over the
#   vocabulary, with scores), searchable before any caption through files.tags_text (the
#   newest index's tags; a sixth FTS column). embeddings.policy: the window configuration an
#   embedding was computed with, so a caption reuses it only when it would compute the same.
# - captions.source gains 'file': a file's own description, offered as its starting caption
#   and protected like a person's words. SQLite cannot change a CHECK constraint in place, so
#   the table is rebuilt (with foreign keys off, as SQLite's documentation prescribes).
_V6 = """
-- earmark: foreign keys off
CREATE TABLE captions_v6 (
    id INTEGER PRIMARY KEY,
    file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    text TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('model', 'user', 'file')),
    clap TEXT,
    llm TEXT,
    params TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL,
    current INTEGER NOT NULL DEFAULT 0
);
INSERT INTO captions_v6 (id, file_id, text, source, clap, llm, params, created_at, current)
    SELECT id, file_id, text, source, clap, llm, params, created_at, current FROM captions;
DROP TABLE captions;
ALTER TABLE captions_v6 RENAME TO captions;
CREATE INDEX captions_file ON captions(file_id, created_at);

CREATE TABLE file_meta (
    file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    field TEXT NOT NULL,
    value TEXT NOT NULL,
    source TEXT NOT NULL,
    PRIMARY KEY (file_id, position)
);
CREATE INDEX file_meta_field ON file_meta(field, value COLLATE NOCASE);
CREATE TABLE tag_writes (
    id INTEGER PRIMARY KEY,
    file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    created_at REAL NOT NULL,
    undo TEXT NOT NULL,
    undone INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX tag_writes_file ON tag_writes(file_id, id);
ALTER TABLE files ADD COLUMN meta_text TEXT NOT NULL DEFAULT '';
ALTER TABLE files ADD COLUMN meta_read INTEGER NOT NULL DEFAULT 0;

CREATE TABLE file_tags (
    file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    model_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    keyword TEXT NOT NULL,
    score REAL NOT NULL,
    PRIMARY KEY (file_id, model_id, position)
);
CREATE INDEX file_tags_keyword ON file_tags(keyword COLLATE NOCASE, file_id);
ALTER TABLE embeddings ADD COLUMN policy TEXT;
ALTER TABLE files ADD COLUMN tags_text TEXT NOT NULL DEFAULT '';

DROP TRIGGER files_fts_insert;
DROP TRIGGER files_fts_delete;
DROP TRIGGER files_fts_update;
DROP TABLE files_fts;
CREATE VIRTUAL TABLE files_fts USING fts5(
    name, relfolder, caption, keywords, meta_text, tags_text,
    content='files', content_rowid='id',
    tokenize='unicode61 remove_diacritics 2',
    prefix='2 3 4 5 6'
);
CREATE TRIGGER files_fts_insert AFTER INSERT ON files BEGIN
    INSERT INTO files_fts(rowid, name, relfolder, caption, keywords, meta_text, tags_text)
    VALUES (new.id, new.name, new.relfolder, new.caption, new.keywords, new.meta_text, new.tags_text);
END;
CREATE TRIGGER files_fts_delete AFTER DELETE ON files BEGIN
    INSERT INTO files_fts(files_fts, rowid, name, relfolder, caption, keywords, meta_text, tags_text)
    VALUES ('delete', old.id, old.name, old.relfolder, old.caption, old.keywords, old.meta_text, old.tags_text);
END;
CREATE TRIGGER files_fts_update
AFTER UPDATE OF name, relfolder, caption, keywords, meta_text, tags_text ON files BEGIN
    INSERT INTO files_fts(files_fts, rowid, name, relfolder, caption, keywords, meta_text, tags_text)
    VALUES ('delete', old.id, old.name, old.relfolder, old.caption, old.keywords, old.meta_text, old.tags_text);
    INSERT INTO files_fts(rowid, name, relfolder, caption, keywords, meta_text, tags_text)
    VALUES (new.id, new.name, new.relfolder, new.caption, new.keywords, new.meta_text, new.tags_text);
END;
INSERT INTO files_fts(files_fts) VALUES ('rebuild');
"""

# v7: names sort in natural, case-insensitive order ("Kick 2" before "kick 10").
# ``name_key`` is what the table sorts by. SQL alone can only lower-case it, which triggers do
# on every insert and rename, so any writer (the CLI, an old Earmark) keeps it usable; the
# natural refinement (digit runs compared by value, Unicode case folding) is filled in by
# ``Library.refresh_name_keys`` and marked by a trailing U+0001, so rows still to refine are
# easy to find. The sort index moves from ``name`` to ``name_key``.
_V7 = """
ALTER TABLE files ADD COLUMN name_key TEXT;
UPDATE files SET name_key = lower(name);
CREATE TRIGGER files_name_key_insert AFTER INSERT ON files WHEN new.name_key IS NULL BEGIN
    UPDATE files SET name_key = lower(new.name) WHERE id = new.id;
END;
CREATE TRIGGER files_name_key_rename AFTER UPDATE OF name ON files BEGIN
    UPDATE files SET name_key = lower(new.name) WHERE id = new.id;
END;
DROP INDEX IF EXISTS files_name_visible;
CREATE INDEX files_name_key_visible ON files(name_key) WHERE status != 'missing';
"""

# v8: the embedding change log: triggers record which (model, file) embeddings were inserted, deleted
# or updated, so the on-disk vector index (desktop.library.vectors) catches up by reading the
# rows after the position it was saved at, instead of comparing a million ids. AUTOINCREMENT:
# a sequence number is never reused, even after the newest rows are pruned. The index prunes
# what it has consumed and records how far in embedding_changes_pruned; an index saved before
# that point knows the log cannot bring it up to date and re-reads the table instead.
_V8 = """
CREATE TABLE embedding_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    model_id TEXT NOT NULL,
    file_id INTEGER NOT NULL
);
CREATE INDEX embedding_changes_model ON embedding_changes(model_id, seq);
CREATE TABLE embedding_changes_pruned (
    model_id TEXT PRIMARY KEY,
    through_seq INTEGER NOT NULL
);
CREATE TRIGGER embeddings_log_insert AFTER INSERT ON embeddings BEGIN
    INSERT INTO embedding_changes(model_id, file_id) VALUES (new.model_id, new.file_id);
END;
CREATE TRIGGER embeddings_log_delete AFTER DELETE ON embeddings BEGIN
    INSERT INTO embedding_changes(model_id, file_id) VALUES (old.model_id, old.file_id);
END;
CREATE TRIGGER embeddings_log_update AFTER UPDATE ON embeddings BEGIN
    INSERT INTO embedding_changes(model_id, file_id) VALUES (old.model_id, old.file_id);
    INSERT INTO embedding_changes(model_id, file_id)
    SELECT new.model_id, new.file_id
    WHERE new.model_id IS NOT old.model_id OR new.file_id IS NOT old.file_id;
END;
"""

#: Migration ``i`` takes the schema from version ``i`` to ``i + 1``. Append, never edit.
MIGRATIONS: tuple[str, ...] = (_V1, _V2, _V3, _V4, _V5, _V6, _V7, _V8)

#: A migration whose first line is this runs with foreign keys off (a table rebuild), and
#: is checked with ``PRAGMA foreign_key_check`` before it commits.
_FOREIGN_KEYS_OFF = "-- earmark: foreign keys off"
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema up to :data:`SCHEMA_VERSION`; returns the version found before.

    Each migration runs in its own transaction together with its ``user_version`` bump, so
    an interrupted upgrade leaves the previous version intact.

    Raises:
        NewerLibraryError: The database was written by a newer Earmark.
    """
    found = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if found > SCHEMA_VERSION:
        raise NewerLibraryError(
            f"this library was created by a newer Earmark (schema {found}, "
            f"this version knows {SCHEMA_VERSION}); please upgrade Earmark"
        )
    for version in range(found, SCHEMA_VERSION):
        log.info("migrating library schema %d -> %d", version, version + 1)
        script = MIGRATIONS[version]
        keys_off = script.lstrip().startswith(_FOREIGN_KEYS_OFF)
        fk_on = bool(conn.execute("PRAGMA foreign_keys").fetchone()[0])
        if keys_off and fk_on:
            conn.execute("PRAGMA foreign_keys = OFF")  # only takes effect outside a txn
        # executescript would COMMIT first; run the statements inside one explicit txn.
        begin_immediate(conn)
        try:
            for statement in _split(script):
                conn.execute(statement)
            if keys_off:
                broken = conn.execute("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise LibraryCorruptError(
                        f"the library's rows refer to rows that do not exist ({len(broken)} "
                        "found while upgrading it); it was not changed. Run `earmark library "
                        "repair NEW.db` to copy everything consistent into a new library"
                    )
            conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            if keys_off and fk_on:
                conn.execute("PRAGMA foreign_keys = ON")
    return found


def _split(script: str) -> list[str]:
    """Split a migration script into statements (triggers hold ``;`` inside BEGIN/END)."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--") and not buffer.strip():
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
