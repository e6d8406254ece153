-- Document intelligence: uploads through presigned POSTs, extraction, chunks with embeddings, hybrid search.
--
-- Decisions (see warroom/documents/__init__.py):
-- * A document is `pending` from `POST /documents/upload` until its object arrives, then `uploaded`,
--   `processing`, and `processed` or `failed` (with a one-word reason and a message; not retried).
-- * `processed_etag` is the object version a document was last processed from: a redelivered notification of
--   that version does no work twice; a new version of the object is processed again.
-- * Chunks keep their page range and heading; `tsv` is stored (keyword search) and `embedding` is indexed with
--   HNSW (cosine). A document's chunks are replaced in one transaction, so they appear all at once.
-- * Who may see a document: its uploader; everyone with read access when `shared`; managers and admins always.

ALTER TABLE documents DROP CONSTRAINT documents_status_check;
ALTER TABLE documents
    ADD CONSTRAINT documents_status_check
        CHECK (status IN ('pending', 'uploaded', 'processing', 'processed', 'failed')),
    ADD COLUMN title          VARCHAR(300),
    ADD COLUMN document_type  VARCHAR(20) CHECK (document_type IN ('pdf', 'docx', 'markdown', 'text')),
    ADD COLUMN shared         BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN page_count     INTEGER CHECK (page_count >= 0),
    ADD COLUMN chunk_count    INTEGER CHECK (chunk_count >= 0),
    ADD COLUMN error_reason   VARCHAR(40),
    ADD COLUMN error_message  VARCHAR(500),
    ADD COLUMN summary_source VARCHAR(20) CHECK (summary_source IN ('openai', 'extractive')),
    ADD COLUMN summary_note   VARCHAR(200),
    ADD COLUMN processed_etag VARCHAR(100),
    ADD COLUMN attempts       INTEGER NOT NULL DEFAULT 0;
CREATE INDEX idx_documents_listing ON documents (created_at DESC, id DESC);

CREATE TABLE document_chunks (
    id          BIGSERIAL PRIMARY KEY,
    document_id UUID NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal     INTEGER NOT NULL CHECK (ordinal >= 0),
    page_start  INTEGER NOT NULL CHECK (page_start >= 1),
    page_end    INTEGER NOT NULL CHECK (page_end >= page_start),
    heading     VARCHAR(300),
    content     TEXT NOT NULL,
    tsv         TSVECTOR GENERATED ALWAYS AS (
                    setweight(to_tsvector('english', coalesce(heading, '')), 'A') || to_tsvector('english', content)
                ) STORED,
    embedding   VECTOR(1536) NOT NULL,
    UNIQUE (document_id, ordinal)
);
CREATE INDEX idx_document_chunks_embedding ON document_chunks USING hnsw (embedding vector_cosine_ops);
CREATE INDEX idx_document_chunks_tsv ON document_chunks USING gin (tsv);
