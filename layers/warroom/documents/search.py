"""Document search: by meaning (pgvector HNSW), by words (full text), or both fused by reciprocal rank.

Example
-------
>>> answer = search(SearchRequest(query="what do seniors pay for hospital stays?"), principal)
>>> answer.mode, answer.hits[0].document.title, answer.hits[0].page_start
('hybrid', 'Healthcare briefing book', 4)

* **semantic**: the query's embedding (OpenAI in LIVE, the offline one in MOCK) against the chunks' HNSW index
  (cosine). Who may see a document is a filter of the same query, and HNSW with a filter returns fewer rows than
  asked unless iterative index scans are on: ``hnsw.iterative_scan = relaxed_order`` (pgvector 0.8) keeps
  scanning until ``limit`` visible chunks are found; the outer query puts them back in distance order. When at
  most ``EXACT_BELOW_CHUNKS`` chunks are visible (the sum of the visible documents' ``chunk_count``), their
  exact distances are ranked instead: a narrow filter whose chunks cluster far from the query is where HNSW
  misses most, and few chunks are quick to scan.
* **keyword**: ``websearch_to_tsquery('english', ...)`` against the stored ``tsvector`` (GIN), ranked by
  ``ts_rank_cd``; headings weigh more.
* **hybrid** (default): the top ``CANDIDATES`` of each, fused by reciprocal rank fusion,
  ``w_s / (k + rank_s) + w_k / (k + rank_k)`` with k = 60 and the weights of the settings
  ``document_search_semantic_weight`` / ``document_search_keyword_weight``.

In keyword and hybrid modes a hit's text has its matched terms marked ``<<like this>>``. When the query cannot be
embedded (OpenAI down in LIVE) the answer is keyword search, saying so in ``fallback``.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg

from warroom.core.data_mode import get_data_mode
from warroom.core.db import connection
from warroom.core.errors import DependencyUnavailable
from warroom.core.security import Principal
from warroom.core.settings import read_settings
from warroom.documents.embeddings import embed_texts
from warroom.documents.library import DOCUMENT_COLUMNS, document_out, visible_to
from warroom.documents.models import Ranks, SearchHit, SearchOut, SearchRequest
from warroom.documents.settings import SEARCH_KEYWORD_WEIGHT, SEARCH_SEMANTIC_WEIGHT

logger = logging.getLogger(__name__)

RRF_K = 60
CANDIDATES = 50
# recall@10 on the 100k-chunk benchmark (m 32 / ef_construction 128): 0.980-0.999 at 100, 0.990-1.000 at 200 for
# ~1.5 ms more (p50 7-10 ms, ~100x the exact scan); 400 costs twice as much again.
EF_SEARCH = 200
# Up to this many visible chunks (one uploader's documents, a handful of ids, a user's shared 10 % of 100k) the
# exact scan of those chunks costs ~100-150 ms and is always right; HNSW under such a filter costs ~10 ms but, when
# the visible chunks cluster away from the query's neighbourhood, found 3 of 10 (tests/perf/test_bench_documents.py).
EXACT_BELOW_CHUNKS = 10_000
_HEADLINE = "StartSel=<<, StopSel=>>, HighlightAll=true"
_HIT_COLUMNS = "c.id AS chunk_id, c.ordinal, c.heading, c.content, c.page_start, c.page_end, " + DOCUMENT_COLUMNS


def _vector_literal(vector: list[float]) -> str:
    return "[" + ",".join(f"{x:.7g}" for x in vector) + "]"


def _filters(request: SearchRequest, principal: Principal) -> tuple[str, list[Any]]:
    condition, params = visible_to(principal)
    conditions = ["d.status = 'processed'", condition]
    f = request.filters
    if f.document_ids:
        conditions.append("d.id = ANY(%s::uuid[])")
        params.append([str(i) for i in f.document_ids])
    if f.type is not None:
        conditions.append("d.document_type = %s")
        params.append(f.type)
    if f.uploaded_by is not None:
        conditions.append("d.uploaded_by = %s")
        params.append(str(f.uploaded_by))
    if f.from_ is not None:
        conditions.append("d.created_at >= %s")
        params.append(f.from_)
    if f.to is not None:
        conditions.append("d.created_at < %s")
        params.append(f.to)
    return " AND ".join(conditions), params


def semantic_candidates(
    conn: psycopg.Connection, vector: list[float], where: str, params: list[Any], limit: int
) -> list[dict[str, Any]]:
    """The ``limit`` nearest visible chunks, nearest first: HNSW with iterative scans (full pages under a filter),
    or the exact distance of every visible chunk when at most ``EXACT_BELOW_CHUNKS`` are visible."""
    literal = _vector_literal(vector)
    visible = conn.execute(
        f"SELECT coalesce(sum(d.chunk_count), 0) AS n FROM documents AS d WHERE {where}",
        params,
    ).fetchone()["n"]
    seqscan = None
    if visible <= EXACT_BELOW_CHUNKS:
        # "+ 0" keeps the HNSW index out of the ORDER BY: the plan reads the visible documents' chunks only.
        order = "(c.embedding <=> %s::vector) + 0"
    else:
        order = "c.embedding <=> %s::vector"
        # The index scan is chosen here, not by the planner: it costs an HNSW scan by ef_search and the seq scan
        # without the TOASTed vectors it must read, so from ef_search 200 it picks a 100x slower exact scan.
        seqscan = conn.execute(
            "SELECT current_setting('enable_seqscan') AS was, set_config('enable_seqscan', 'off', true),"
            " set_config('hnsw.iterative_scan', 'relaxed_order', true), set_config('hnsw.ef_search', %s, true)",
            (str(max(EF_SEARCH, limit)),),
        ).fetchone()["was"]
    rows = conn.execute(
        f"""
        WITH nearest AS MATERIALIZED (
            SELECT {_HIT_COLUMNS}, c.embedding <=> %s::vector AS distance
            FROM document_chunks AS c JOIN documents AS d ON d.id = c.document_id
            WHERE {where}
            ORDER BY {order} LIMIT %s
        )
        SELECT * FROM nearest ORDER BY distance, chunk_id
        """,
        (literal, *params, literal, limit),
    ).fetchall()
    if seqscan is not None:  # the rest of the transaction plans as usual
        conn.execute("SELECT set_config('enable_seqscan', %s, true)", (seqscan,))
    return rows


def keyword_candidates(
    conn: psycopg.Connection, text: str, where: str, params: list[Any], limit: int, *, any_term: bool = False
) -> list[dict[str, Any]]:
    """The ``limit`` best full-text matches, best first: every term (web search syntax: quotes for phrases, ``-``
    to exclude), or, with ``any_term`` (hybrid search's candidates), any of them, ranked by how many match."""
    query = "websearch_to_tsquery('english', %s)"
    if any_term:
        query = f"replace({query}::text, ' & ', ' | ')::tsquery"
    return conn.execute(
        f"""
        SELECT {_HIT_COLUMNS}, ts_rank_cd(c.tsv, q.query) AS rank
        FROM document_chunks AS c JOIN documents AS d ON d.id = c.document_id,
             (SELECT {query} AS query) AS q
        WHERE c.tsv @@ q.query AND {where}
        ORDER BY rank DESC, c.id LIMIT %s
        """,
        (text, *params, limit),
        prepare=False,  # planned for this query's terms: a generic plan ranks every chunk (4x slower at 100k)
    ).fetchall()


def _marked(conn: psycopg.Connection, text: str, chunk_ids: list[int]) -> dict[int, str]:
    rows = conn.execute(
        "SELECT c.id, ts_headline('english', c.content,"
        " replace(websearch_to_tsquery('english', %s)::text, ' & ', ' | ')::tsquery, %s) AS marked"
        " FROM document_chunks AS c WHERE c.id = ANY(%s)",
        (text, _HEADLINE, chunk_ids),
    ).fetchall()
    return {r["id"]: r["marked"] for r in rows}


def _hit(row: dict[str, Any], text: str, ranks: Ranks, score: float) -> SearchHit:
    return SearchHit(
        document=document_out(row),
        chunk_id=row["chunk_id"],
        ordinal=row["ordinal"],
        heading=row["heading"],
        text=text,
        page_start=row["page_start"],
        page_end=row["page_end"],
        ranks=ranks,
        score=round(score, 6),
    )


def fuse(
    semantic: list[dict[str, Any]], keyword: list[dict[str, Any]], weights: tuple[float, float], limit: int
) -> list[tuple[dict[str, Any], Ranks, float]]:
    """Reciprocal rank fusion of two rankings of chunks: (row, ranks, score), best first (ties: chunk id)."""
    semantic_rank = {row["chunk_id"]: n for n, row in enumerate(semantic, start=1)}
    keyword_rank = {row["chunk_id"]: n for n, row in enumerate(keyword, start=1)}
    rows = {row["chunk_id"]: row for row in [*keyword, *semantic]}
    scored = []
    for chunk_id, row in rows.items():
        s, k = semantic_rank.get(chunk_id), keyword_rank.get(chunk_id)
        score = (weights[0] / (RRF_K + s) if s else 0.0) + (weights[1] / (RRF_K + k) if k else 0.0)
        scored.append((row, Ranks(semantic=s, keyword=k), score))
    scored.sort(key=lambda item: (-item[2], item[0]["chunk_id"]))
    return scored[:limit]


def search(request: SearchRequest, principal: Principal) -> SearchOut:
    """Search the chunks ``principal`` may see (see the module docstring)."""
    mode, fallback = request.mode, None
    vector = None
    if mode in ("semantic", "hybrid"):
        try:
            vector = embed_texts([request.query], mode=get_data_mode(), user_id=principal.user_id).vectors[0]
        except DependencyUnavailable as error:
            fallback = f"semantic search is unavailable ({getattr(error, 'cause', 'unavailable')}); keyword results"
            logger.warning("document search fell back to keyword: %s", error.message)
            mode = "keyword"
    where, params = _filters(request, principal)
    with connection() as conn:
        if mode == "semantic":
            rows = semantic_candidates(conn, vector, where, params, request.limit)
            hits = [
                _hit(r, r["content"], Ranks(semantic=n, keyword=None), 1 - float(r["distance"]))
                for n, r in enumerate(rows, start=1)
            ]
            return SearchOut(mode=mode, requested_mode=request.mode, fallback=fallback, hits=hits)
        hybrid = mode == "hybrid"
        keyword = keyword_candidates(
            conn, request.query, where, params, max(CANDIDATES, request.limit), any_term=hybrid
        )
        if mode == "keyword":
            ranked = [(r, Ranks(semantic=None, keyword=n), float(r["rank"])) for n, r in enumerate(keyword, 1)]
        else:
            semantic = semantic_candidates(conn, vector, where, params, max(CANDIDATES, request.limit))
            values = read_settings([SEARCH_SEMANTIC_WEIGHT, SEARCH_KEYWORD_WEIGHT], conn)
            weights = (values[SEARCH_SEMANTIC_WEIGHT.key], values[SEARCH_KEYWORD_WEIGHT.key])
            ranked = fuse(semantic, keyword, weights, request.limit)
        ranked = ranked[: request.limit]
        marked = _marked(conn, request.query, [r["chunk_id"] for r, _, _ in ranked]) if ranked else {}
    hits = [_hit(r, marked.get(r["chunk_id"], r["content"]), ranks, score) for r, ranks, score in ranked]
    return SearchOut(mode=mode, requested_mode=request.mode, fallback=fallback, hits=hits)
