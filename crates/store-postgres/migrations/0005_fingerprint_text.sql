-- Fingerprints become 'sha256:<hex>' (switchboard_knowledge::ingest::fingerprint).
-- The old values (std's DefaultHasher, which may change between Rust releases)
-- are kept as text without the prefix: the next ingestion compares such a
-- document's chunks with the stored ones and rewrites the fingerprint without
-- embedding again when they are the same.
ALTER TABLE knowledge_documents ALTER COLUMN fingerprint TYPE TEXT USING fingerprint::text;
