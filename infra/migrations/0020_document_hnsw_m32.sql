-- Document chunks' HNSW index rebuilt with m = 32 (was pgvector's default 16).
--
-- Chunk embeddings cluster tightly (a document's sections, a section's chunks): with m 16 some queries found none
-- of their ten true neighbours (recall@10 0.955-0.989 over four builds of the 100,000-chunk benchmark, worst query
-- 0.0; ef_construction 128 did not help: 0.976), because the graph reached those clusters by too few edges. With
-- m 32 three builds of the same benchmark gave recall@10 0.990, 0.995 and 0.965 at ef_search 100 (better on
-- average, still one trapped query in the last). The index is hardly larger (a 1536-d vector fills most of a page either way); building and inserting cost about twice
-- as much. See tests/perf/test_bench_documents.py.
DROP INDEX IF EXISTS idx_document_chunks_embedding;
CREATE INDEX idx_document_chunks_embedding ON document_chunks
    USING hnsw (embedding vector_cosine_ops) WITH (m = 32, ef_construction = 64);
