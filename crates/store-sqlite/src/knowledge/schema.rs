//! The knowledge tables, created by the knowledge base itself with idempotent
//! statements, so that they can share a file with any other tables (the store's
//! migrations never touch them, and they never touch the store's).
//!
//! - `knowledge_documents`: one row per document, `key` its integer handle.
//! - `knowledge_readers`: who may read a restricted document (`user:<id>`,
//!   `group:<name>`).
//! - `knowledge_chunks`: the chunks' text and vector (little-endian `f32`s).
//! - `knowledge_chunks_fts`: an FTS5 index of the chunks' terms (contentless: the
//!   text is kept once, in `knowledge_chunks`), rowid = chunk id, kept in step by a
//!   trigger on deletion and by ingestion on insertion.
//! - `knowledge_embedder`: the embedder of the stored vectors (one row, once any).
//! - `knowledge_state`: a generation counter every write raises, so that each
//!   process's copy of the vectors knows when it is stale.
//! - `knowledge_schema_version`: this schema's version.

use super::backend;
use sqlx::SqlitePool;
use switchboard_knowledge::KnowledgeError;

/// The version these statements create. A file with a higher one was written by a
/// newer Switchboard and is refused rather than misread.
pub(super) const VERSION: i64 = 1;

const STATEMENTS: &str = "
CREATE TABLE IF NOT EXISTS knowledge_schema_version (
    only INTEGER PRIMARY KEY CHECK (only = 1),
    version INTEGER NOT NULL
);
INSERT OR IGNORE INTO knowledge_schema_version (only, version) VALUES (1, 1);

CREATE TABLE IF NOT EXISTS knowledge_state (
    only INTEGER PRIMARY KEY CHECK (only = 1),
    generation INTEGER NOT NULL
);
INSERT OR IGNORE INTO knowledge_state (only, generation) VALUES (1, 0);

CREATE TABLE IF NOT EXISTS knowledge_embedder (
    only INTEGER PRIMARY KEY CHECK (only = 1),
    name TEXT NOT NULL,
    dimension INTEGER NOT NULL CHECK (dimension > 0)
);

CREATE TABLE IF NOT EXISTS knowledge_documents (
    key INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    source_key TEXT NOT NULL,
    source TEXT NOT NULL,
    title TEXT,
    url TEXT,
    org_id TEXT,
    acl TEXT NOT NULL,
    restricted INTEGER NOT NULL,
    sets TEXT NOT NULL,
    fingerprint TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS knowledge_documents_source
    ON knowledge_documents (source_key, id);
CREATE INDEX IF NOT EXISTS knowledge_documents_org ON knowledge_documents (org_id);

CREATE TABLE IF NOT EXISTS knowledge_readers (
    document INTEGER NOT NULL REFERENCES knowledge_documents (key) ON DELETE CASCADE,
    reader TEXT NOT NULL,
    PRIMARY KEY (document, reader)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS knowledge_chunks (
    id INTEGER PRIMARY KEY,
    document INTEGER NOT NULL REFERENCES knowledge_documents (key) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    text TEXT NOT NULL,
    embedding BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS knowledge_chunks_document
    ON knowledge_chunks (document, ordinal);

CREATE VIRTUAL TABLE IF NOT EXISTS knowledge_chunks_fts USING fts5 (
    terms,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE VIRTUAL TABLE IF NOT EXISTS knowledge_chunks_vocab
    USING fts5vocab (knowledge_chunks_fts, row);
CREATE TRIGGER IF NOT EXISTS knowledge_chunks_unindex AFTER DELETE ON knowledge_chunks
BEGIN
    DELETE FROM knowledge_chunks_fts WHERE rowid = old.id;
END;
";

/// Creates what is missing, in one write transaction (a second process creating
/// the same tables waits for it), and refuses a newer schema.
pub(super) async fn ensure(pool: &SqlitePool) -> Result<(), KnowledgeError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(backend)?;
    sqlx::raw_sql(STATEMENTS)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
    let version: i64 = sqlx::query_scalar("SELECT version FROM knowledge_schema_version")
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
    if version > VERSION {
        return Err(KnowledgeError::Backend(format!(
            "sqlite: the knowledge tables are at schema version {version}, written by a \
             newer Switchboard; this one knows version {VERSION} and will not change them"
        )));
    }
    tx.commit().await.map_err(backend)?;
    Ok(())
}
