-- The knowledge base: documents, their chunks with a full-text vector, and which
-- embedder built the chunks' embeddings.
--
-- The embedding column is not created here: its dimension is the configured
-- embedder's, known only at the first ingestion, which adds
-- `embedding vector(N) NOT NULL` and its HNSW index (see src/knowledge/embedder.rs).

CREATE EXTENSION IF NOT EXISTS vector;

-- The embedder whose vectors the chunks hold: at most one row, written by the
-- ingestion that created the embedding column, in the same transaction.
CREATE TABLE knowledge_embedder (
    singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    name      TEXT NOT NULL,
    dimension INTEGER NOT NULL CHECK (dimension > 0)
);

CREATE TABLE knowledge_documents (
    id          TEXT PRIMARY KEY,
    -- The ingestion source that holds the document (a folder, a URL, a
    -- configuration file); re-ingesting it replaces its documents.
    source_key  TEXT NOT NULL,
    -- The document's own `source` (a path, a URL).
    source      TEXT NOT NULL,
    title       TEXT,
    url         TEXT,
    -- NULL: the document belongs to every organisation.
    org_id      TEXT,
    -- The access list as the document carried it: {"visibility": "org"} or
    -- {"visibility": "restricted", "users": [...], "groups": [...]}.
    acl         JSONB NOT NULL,
    -- The access list as the filter reads it: whether it is restricted, and then
    -- who may read ('user:<id>', 'group:<name>'). Chunks carry a copy.
    restricted  BOOLEAN NOT NULL,
    readers     TEXT[] NOT NULL,
    sets        TEXT[] NOT NULL,
    -- switchboard_knowledge::ingest::fingerprint, so unchanged documents are not
    -- embedded again.
    fingerprint BIGINT NOT NULL
);

CREATE INDEX knowledge_documents_by_source ON knowledge_documents (source_key);

CREATE TABLE knowledge_chunks (
    -- Insertion order; ties in ranking go to the older chunk, as in memory.
    id          BIGSERIAL PRIMARY KEY,
    document_id TEXT NOT NULL REFERENCES knowledge_documents (id) ON DELETE CASCADE,
    ordinal     INTEGER NOT NULL,
    text        TEXT NOT NULL,
    -- Who may see the chunk, copied from its document so that both retrieval arms
    -- filter the rows they rank, inside the index scan.
    org_id      TEXT,
    restricted  BOOLEAN NOT NULL,
    readers     TEXT[] NOT NULL,
    tsv         TSVECTOR GENERATED ALWAYS AS (to_tsvector('english', text)) STORED
);

CREATE INDEX knowledge_chunks_by_document ON knowledge_chunks (document_id);
CREATE INDEX knowledge_chunks_tsv ON knowledge_chunks USING GIN (tsv);
