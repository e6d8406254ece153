-- Document chunks' HNSW index rebuilt with m = 32 and ef_construction = 128 (was pgvector's defaults, 16 / 64).
--
-- Chunk embeddings cluster tightly (a document's sections, a section's chunks): with m 16 / ef_construction 64
-- some queries found none of their ten true neighbours (recall@10 0.955-0.989 over four builds of the
-- 100,000-chunk benchmark, worst query 0.0), because the graph reached those clusters by too few edges; m 32 alone
-- gave 0.965-0.995 over four builds (one trapped query in 100 costs 0.01). Measured on one corpus with 500
-- queries at ef_search 100 (tests/perf/test_bench_documents.py; README, Measurements): m 32 / 64 0.987 (4 queries
-- under half their neighbours), m 32 / 128 0.995 (2), m 32 / 200 0.996 (2), m 48 / 128 0.996 (1), each
-- 138-160x the exact scan; m 32 / 128 builds in about twice the time of m 32 / 64 and keeps the index the same
-- size (781 MiB: a 1536-d vector fills most of a page either way).
DROP INDEX IF EXISTS idx_document_chunks_embedding;
CREATE INDEX idx_document_chunks_embedding ON document_chunks
    USING hnsw (embedding vector_cosine_ops) WITH (m = 32, ef_construction = 128);
