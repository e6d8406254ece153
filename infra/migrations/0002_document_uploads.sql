-- Documents arrive as objects in the uploads bucket: S3 -> SQS -> document_ingest registers each one.
-- (s3_bucket, s3_key) is unique, so a redelivered notification finds its row and changes nothing; an
-- object overwritten under the same key is told apart by its S3 sequencer (newer) and ETag (different).

ALTER TABLE documents
    ADD COLUMN status       VARCHAR(20) NOT NULL DEFAULT 'uploaded'
                            CHECK (status IN ('uploaded', 'processing', 'processed', 'failed')),
    ADD COLUMN size_bytes   BIGINT CHECK (size_bytes >= 0),
    ADD COLUMN content_type VARCHAR(255),
    ADD COLUMN s3_bucket    VARCHAR(63),
    ADD COLUMN s3_key       VARCHAR(1024),
    ADD COLUMN s3_etag      VARCHAR(100),
    ADD COLUMN s3_sequencer VARCHAR(64),
    ADD COLUMN updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    ADD CONSTRAINT documents_s3_object_key UNIQUE (s3_bucket, s3_key),
    -- s3://<bucket up to 63>/<key up to 1024>: every object S3 accepts must fit.
    ALTER COLUMN file_path TYPE VARCHAR(1100);

CREATE INDEX idx_documents_status ON documents (status, created_at DESC);

CREATE TRIGGER documents_touch BEFORE UPDATE ON documents FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
