"""Document search benchmarks (``make bench``): pgvector HNSW against the exact scan on 100,000 chunks of 1536
dimensions, ``halfvec`` against ``vector``, hybrid search through the route handler and ingest throughput, every
ratio against a baseline measured in the same run.

Data (one module fixture, every phase timed and printed): 2,000 processed documents of 50 chunks each (100,000
``document_chunks`` rows, the migration's table), their vectors generated in SQL (``random_normal``, seeded with
``setseed``, two sessions in parallel) from a hierarchy, as text embeddings are structured rather than uniform:
a shared direction (embeddings of unrelated texts are not orthogonal), 25 domains, 500 topics (20 a domain), the
document, and its 5 sections (a topic of the document's domain each), plus noise per chunk, scaled 0.7-1.3x:

    chunk = normalise(global + domain + topic + document + section + noise)

with expected squared norms 0.12, 0.12, 0.16, 0.15, 0.15 and 0.30, so two chunks' cosine similarity is about 0.12
unrelated, 0.24 in one domain, 0.40 on one topic, 0.55 in one document and 0.70 in one section (OpenAI's
``text-embedding-3-small`` gives ~0.1-0.2 for unrelated and ~0.5-0.7 for related passages). Queries: 100 vectors
drawn the same way around random sections (fresh noise: not in the table). Each chunk has two generated sentences
naming its domain and topic (made-up words) for the stored ``tsv``. The HNSW (m 32, ef_construction 128, as
migration 0020 builds it) and GIN indexes are dropped before the load and rebuilt after it (``maintenance_work_mem``
1GB), as the migration defines them.

Who sees what: 200 documents (10 %, drawn at random) are ``shared``: a ``user`` who uploaded nothing sees exactly
those 10,000 chunks. Another user uploaded 200 documents of two and a half domains (10 % again, but correlated with
the vectors): a manager filtering on that uploader is the stress case (most queries' neighbours are invisible).

Measured:

1. HNSW vs exact, no filter (a manager): :func:`semantic_candidates` as the route calls it (``hnsw.ef_search``
   ``EF_SEARCH``, iterative scans, the index scan forced), p50 / p95, recall@10 against the same call ranking
   exactly (its own exact branch, ``enable_indexscan = off``), and the speed-up (exact p50 / HNSW p50). Targets:
   recall@10 >= 0.98 at >= 80x. Also printed, as evidence about ``EF_SEARCH``: recall at ef_search 40-400.
2. The 10 % filters: the same three ways -- as the route runs it (10,000 visible chunks: ``EXACT_BELOW_CHUNKS``
   makes it rank their exact distances; the plan printed), exact, and the HNSW iterative scan forced (the rule off,
   ``enable_seqscan = off``) -- and recall by ef_search. Targets, on the route's answer (the shared case):
   recall@10 >= 0.95 and every page full (``limit`` hits); the correlated case, where HNSW alone found ~1 in 3,
   must be exact on the route.
   Besides recall, "distance +x" is how much farther (mean cosine distance) the answers are than the exact ones.
3. ``halfvec(1536)`` (a copy of the vectors with its own HNSW index, ``halfvec_cosine_ops``) vs ``vector``: column,
   index and table sizes, index build time, recall@10 against the exact ``vector`` answer and p50 (target: the
   same recall@10 >= 0.98).
4. ``POST /api/v1/documents/search`` (hybrid: the query embedded by the MOCK model, 50 semantic + 50 keyword
   candidates fused) through ``LambdaRuntime`` with ``events/documents_search.json``, for a manager and for the
   10 % user: p50 / p95 of 50 varied queries after 5 warm-up calls; as is, and again with every session planning
   each statement for its parameters (``plan_cache_mode = force_custom_plan``). Then the parts in process: search()
   itself, each candidate query alone, and keyword candidates requiring every term. (The MOCK query vectors are
   not from the synthetic vectors' model, so the two rankings rarely agree: this measures time, not relevance.)
5. Ingest: a generated 200-page field report (``report_pages``) as a PDF in the S3 emulator, processed by
   :func:`process_uploaded` (read, extract, chunk, MOCK embeddings, summary, insert into the 100k-chunk table with
   both indexes maintained): pages per second, and each phase timed alone.

Every target is printed as met or MISSED; a missed one asserts the level achieved (``FLOORS``), never the target.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
import redis
from psycopg.rows import dict_row

from localcloud.lambda_runtime import LambdaRuntime
from localcloud.template import load_template, read_functions
from tests.conftest import PROJECT_ROOT, UPLOADS_BUCKET, Backing, _reset_containers, load_event
from tests.perf.reporting import ms as _ms
from tests.perf.reporting import percentile as _percentile
from tests.perf.reporting import report as _report

DIMENSIONS = 1536
DOMAINS = 25
TOPICS = 500  # 20 a domain
DOCUMENTS = 2_000
CHUNKS_PER_DOCUMENT = 50
SECTIONS_PER_DOCUMENT = 5
CHUNKS = DOCUMENTS * CHUNKS_PER_DOCUMENT
# Expected squared norm of each component of a chunk's vector (they sum to 1 before normalising).
COMPONENTS = (
    ("global", 1, 0.12),
    ("domain", DOMAINS, 0.12),
    ("topic", TOPICS, 0.16),
    ("document", DOCUMENTS, 0.15),
    ("section", DOCUMENTS * SECTIONS_PER_DOCUMENT, 0.15),
)
NOISE = 0.30
SHARED_DOCUMENTS = 200  # 10 %
QUERIES = 100
LIMIT = 10
WARM_UP = 10
HYBRID_QUERIES = 50
HYBRID_WARM_UP = 5
INGEST_PAGES = 200
LOAD_SESSIONS = 2  # the machine's cores

RECALL_TARGET = 0.98
SPEEDUP_TARGET = 80.0
FILTERED_RECALL_TARGET = 0.95
HALFVEC_RECALL_TARGET = RECALL_TARGET  # the same as vector's
# What is asserted when a target is missed: below the levels measured on this machine (2 cores), with a margin for
# the spread between runs: no two HNSW builds give the same graph (pgvector draws each node's level from the
# backend's own random state; the build runs in parallel): recall@10 without a filter measured 0.955, 0.978, 0.989
# and 0.973 in four runs of this file (the shared filter: 0.939, 0.958, 0.973, 0.965; halfvec: 0.980, 0.994, 0.986,
# 0.978), and a build with ef_construction 128 gave 0.976. Those were m 16; m 32 / ef_construction 64 gave 0.965-0.995
# over four builds, m 32 / 128 (migration 0020) 0.995 on 500 queries.
FLOORS = {"recall": 0.90, "speedup": 40.0, "filtered recall": 0.85, "halfvec recall": 0.90}

SUBJECTS = [
    "Turnout among young voters",
    "Support for the school bond",
    "Early vote returns",
    "Volunteer sign-ups",
    "Small donor giving",
    "Yard sign requests",
    "Phone bank contacts",
    "Undecided voters",
]
VERBS = ["rose", "fell", "held steady", "climbed", "slipped", "doubled"]
CAUSES = [
    "the door-knocking weekend",
    "the televised debate",
    "the new mail program",
    "the rally downtown",
    "the endorsement",
    "the radio spots",
    "the town hall",
    "the canvass training",
]
HNSW_BUILD = "HNSW index (vector, m 32, ef_construction 128)"
RESULTS: list[tuple[str, str]] = []
TARGETS: list[tuple[str, str]] = []
pytestmark = pytest.mark.timeout(900)


# ------------------------------------------------------------------------------------------------- helpers


def _mib(size: int) -> str:
    return f"{size / 2**20:,.1f} MiB"


def _target(name: str, measured: float, target: float, floor: float, unit: str = "") -> None:
    """Print the target as met or MISSED and assert it, or, when missed, the level achieved (never faked)."""
    met = measured >= target
    TARGETS.append((name, f"{measured:.3f}{unit}  {'met' if met else 'MISSED'}"))
    print(f"  target {name}: {measured:.3f}{unit} {'met' if met else 'MISSED'}")
    if not met:
        assert measured >= floor, f"{name}: {measured:.3f}{unit}, below even the level asserted when missed ({floor})"


def _words(count: int, first: list[str], second: list[str]) -> list[str]:
    words = [a + b for b in second for a in first][:count]
    assert len(set(words)) == count
    return words


# Made-up words (so no topic shares a lexeme with another): a domain's and each topic's name.
DOMAIN_WORDS = _words(DOMAINS, ["bra", "cle", "dro", "fla", "gri"], ["vost", "mirn", "taz", "pell", "quor"])
TOPIC_WORDS = _words(
    TOPICS,
    ["ka", "lo", "mi", "ne", "pu", "ro", "sa", "te", "vi", "zo", "ba", "du", "fe", "gi", "ho", "ju", "ke", "lu"],
    ["rvin", "ldek", "stam", "brol", "frin", "gmot", "ntal", "sker", "vult", "zdor", "mpek", "trav", "chel", "rnod",
     "plim", "swet", "kral", "dmun", "glep", "norf", "ttik", "blas", "crum", "fosk", "hrev", "jand", "lupt", "mesk"],
)  # fmt: skip


def _truncate(database_url: str, redis_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'"
                " AND tablename NOT LIKE 'bench\\_%'"
            )
        ]
        conn.execute("SET warroom.allow_audit_truncate = on")
        conn.execute("TRUNCATE " + ", ".join(tables) + " CASCADE")  # names from the catalogue
        for table in ("bench_basis", "bench_sections", "bench_queries", "bench_chunks_halfvec"):
            conn.execute(f"DROP TABLE IF EXISTS {table}")  # names of ours
    redis.Redis.from_url(redis_url).flushdb()


# The migration's two indexes on document_chunks (0015), dropped for the load and built after it.
INDEXES = {
    "idx_document_chunks_embedding": "CREATE INDEX {if_not} idx_document_chunks_embedding ON document_chunks"
    " USING hnsw (embedding vector_cosine_ops) WITH (m = 32, ef_construction = 128)",
    "idx_document_chunks_tsv": "CREATE INDEX {if_not} idx_document_chunks_tsv ON document_chunks USING gin (tsv)",
}


def _document_id(n: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench-document-{n}"))


_DOCUMENTS = """
INSERT INTO documents (id, filename, file_path, status, uploaded_by, shared, title, document_type, page_count,
                       chunk_count, processed_at)
SELECT ids[n + 1], 'bench-' || lpad(n::text, 4, '0') || '.pdf', 's3://bench/bench-' || n || '.pdf', 'processed',
       CASE WHEN mod(n, 25) < 2 OR (mod(n, 25) = 2 AND n < 1000) THEN %(uploader)s::uuid ELSE %(owner)s::uuid END,
       rank < %(shared)s, initcap(domains[mod(n, 25) + 1]) || ' briefing ' || n, 'pdf', 25, 50, now()
FROM (SELECT n, row_number() OVER (ORDER BY hashint4(n + 7), n) - 1 AS rank FROM generate_series(0, %(count)s - 1) n) s,
     (SELECT %(ids)s::uuid[] AS ids, %(domains)s::text[] AS domains) AS a
"""

# One row per component vector: N(0, w / d) per dimension, so its expected squared norm is w.
_BASIS = """
INSERT INTO bench_basis (kind, k, v)
SELECT c.kind, k, ARRAY(SELECT random_normal(0, s.sigma) FROM generate_series(1, %(d)s))::vector
FROM (SELECT * FROM unnest(%(kinds)s::text[], %(counts)s::int[], %(weights)s::float8[])) AS c(kind, n, w),
     generate_series(0, c.n - 1) AS k,
     LATERAL (SELECT sqrt(c.w / %(d)s) + k * 0 AS sigma) AS s
WHERE mod(k, %(sessions)s) = %(session)s
"""

# Section s belongs to document s / 5 and is about a topic of that document's domain (document n: domain n % 25).
_SECTIONS = """
CREATE UNLOGGED TABLE bench_sections AS
SELECT s.k AS section, tp.k AS topic, g.v + dm.v + tp.v + dc.v + s.v AS v
FROM bench_basis AS s
JOIN bench_basis AS dc ON dc.kind = 'document' AND dc.k = s.k / %(per_document)s
JOIN bench_basis AS dm ON dm.kind = 'domain' AND dm.k = mod(dc.k, %(domains)s)
JOIN bench_basis AS tp ON tp.kind = 'topic'
     AND tp.k = dm.k + %(domains)s * mod(hashint4(s.k + 3) & 2147483647, %(topics)s / %(domains)s)
JOIN bench_basis AS g ON g.kind = 'global'
WHERE s.kind = 'section'
"""

# Chunk n: document n / 50, ordinal n % 50 (pages of two chunks), one of its document's five sections.
_CHUNKS = """
INSERT INTO document_chunks (document_id, ordinal, page_start, page_end, heading, content, embedding)
SELECT a.ids[n / %(per_document)s + 1], mod(n, %(per_document)s), mod(n, %(per_document)s) / 2 + 1,
       mod(n, %(per_document)s) / 2 + 1,
       initcap(a.topics[s.topic + 1]) || ', part ' || (mod(n, %(per_document)s) / 10 + 1),
       format('%%s in precinct %%s %%s by %%s points after %%s, the %%s team reports. The %%s office tracks %%s.',
              a.subjects[mod(h, array_length(a.subjects, 1)) + 1], n,
              a.verbs[mod(h / 8, array_length(a.verbs, 1)) + 1], mod(n, 17) + 2,
              a.causes[mod(h / 64, array_length(a.causes, 1)) + 1], a.topics[s.topic + 1],
              a.domains[mod(s.topic, %(domains)s) + 1], a.topics[s.topic + 1]),
       l2_normalize(s.v + ARRAY(SELECT random_normal(0, f.sigma) FROM generate_series(1, %(d)s))::vector)
FROM generate_series(0, %(chunks)s - 1) AS n
CROSS JOIN LATERAL (SELECT hashint4(n) & 2147483647 AS h) AS x(h)
CROSS JOIN LATERAL (SELECT sqrt(%(noise)s / %(d)s) * (0.7 + 0.6 * random()) + n * 0 AS sigma) AS f
JOIN bench_sections AS s
     ON s.section = n / %(per_document)s * %(sections)s + mod(hashint4(n + 11) & 2147483647, %(sections)s)
CROSS JOIN (SELECT %(ids)s::uuid[] AS ids, %(topics_words)s::text[] AS topics, %(domain_words)s::text[] AS domains,
                   %(subjects)s::text[] AS subjects, %(verbs)s::text[] AS verbs, %(causes)s::text[] AS causes) AS a
WHERE mod(n / %(per_document)s, %(sessions)s) = %(session)s
"""

_QUERIES = """
CREATE UNLOGGED TABLE bench_queries AS
SELECT q, s.section, s.topic,
       l2_normalize(s.v + ARRAY(SELECT random_normal(0, f.sigma) FROM generate_series(1, %(d)s))::vector) AS v
FROM generate_series(0, %(queries)s - 1) AS q
CROSS JOIN LATERAL (SELECT sqrt(%(noise)s / %(d)s) + q * 0 AS sigma) AS f
JOIN bench_sections AS s ON s.section = mod(hashint4(q + 12345) & 2147483647, %(sections)s)
"""


def _in_sessions(database_url: str, statement: str, params: dict[str, Any], seed: float) -> None:
    """Run ``statement`` in LOAD_SESSIONS parallel sessions, each on its share (``mod(.., sessions) = session``)."""

    def run(session: int) -> None:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("SELECT setseed(%s)", (seed + session / 10,))
            conn.execute(statement, {**params, "sessions": LOAD_SESSIONS, "session": session})

    with ThreadPoolExecutor(LOAD_SESSIONS) as pool:
        for future in [pool.submit(run, session) for session in range(LOAD_SESSIONS)]:
            future.result()


def _timed(timings: dict[str, float], name: str, function: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    result = function()
    timings[name] = time.perf_counter() - started
    return result


def _principal(user_id: str, role: str) -> Any:
    from warroom.core.security import Principal

    return Principal(user_id=user_id, role=role, token_id="bench", expires_at=dt.datetime.now(dt.UTC))


@pytest.fixture(scope="module")
def corpus(backing: Backing) -> Iterator[dict[str, Any]]:
    """The 100,000 chunks, their documents, users and query vectors, loaded once and indexed (every phase timed);
    the tables emptied and the migration's indexes left in place afterwards."""
    from pgvector.psycopg import register_vector

    from warroom.core.security import issue_access_token

    url = backing.database_url
    _reset_containers()
    _truncate(url, backing.redis_url)
    timings: dict[str, float] = {}
    notices: list[str] = []
    ids = [_document_id(n) for n in range(DOCUMENTS)]
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            for name in INDEXES:
                conn.execute(f"DROP INDEX IF EXISTS {name}")  # names of ours; rebuilt below and in `finally`
            users = {}
            for key, role in (("owner", "user"), ("uploader", "user"), ("reader", "user"), ("manager", "manager")):
                users[key] = str(
                    conn.execute(
                        "INSERT INTO users (email, password_hash, role) VALUES (%s, 'x', %s) RETURNING id",
                        (f"bench-documents-{key}@example.org", role),
                    ).fetchone()[0]
                )
            params = {
                "owner": users["owner"],
                "uploader": users["uploader"],
                "shared": SHARED_DOCUMENTS,
                "count": DOCUMENTS,
                "ids": ids,
                "domains": DOMAIN_WORDS,
            }
            _timed(timings, "documents", lambda: conn.execute(_DOCUMENTS, params))
            conn.execute(
                f"CREATE UNLOGGED TABLE bench_basis (kind text, k int, v vector({DIMENSIONS}), PRIMARY KEY (kind, k))"
            )
        basis = {
            "d": DIMENSIONS,
            "kinds": [c[0] for c in COMPONENTS],
            "counts": [c[1] for c in COMPONENTS],
            "weights": [c[2] for c in COMPONENTS],
        }
        _timed(timings, "component vectors", lambda: _in_sessions(url, _BASIS, basis, 0.25))
        shape = {
            "per_document": CHUNKS_PER_DOCUMENT,
            "sections": SECTIONS_PER_DOCUMENT,
            "domains": DOMAINS,
            "topics": TOPICS,
            "d": DIMENSIONS,
            "noise": NOISE,
        }
        with psycopg.connect(url, autocommit=True) as conn:
            sections = {**shape, "per_document": SECTIONS_PER_DOCUMENT}
            _timed(timings, "section centres", lambda: conn.execute(_SECTIONS, sections))
            conn.execute("CREATE UNIQUE INDEX ON bench_sections (section)")
            conn.execute("ANALYZE bench_sections")
        chunks = {
            **shape,
            "chunks": CHUNKS,
            "ids": ids,
            "topics_words": TOPIC_WORDS,
            "domain_words": DOMAIN_WORDS,
            "subjects": SUBJECTS,
            "verbs": VERBS,
            "causes": CAUSES,
        }
        _timed(timings, "chunks (vectors, text, tsv)", lambda: _in_sessions(url, _CHUNKS, chunks, 0.5))
        with psycopg.connect(url, autocommit=True) as conn:
            conn.add_notice_handler(lambda diagnostic: notices.append(diagnostic.message_primary or ""))
            _timed(timings, "vacuum analyze", lambda: conn.execute("VACUUM ANALYZE document_chunks, documents"))
            conn.execute("SET maintenance_work_mem = '1GB'")
            settings = {
                name: conn.execute(f"SHOW {name}").fetchone()[0]  # names of ours
                for name in ("maintenance_work_mem", "max_parallel_maintenance_workers", "shared_buffers")
            }
            gin = INDEXES["idx_document_chunks_tsv"].format(if_not="")
            _timed(timings, "GIN index (tsv)", lambda: conn.execute(gin))
            hnsw = INDEXES["idx_document_chunks_embedding"].format(if_not="")
            _timed(timings, HNSW_BUILD, lambda: conn.execute(hnsw))
            conn.execute("ANALYZE document_chunks")
            conn.execute("SELECT setseed(0.9)")
            queries = {**shape, "queries": QUERIES, "sections": DOCUMENTS * SECTIONS_PER_DOCUMENT}
            _timed(timings, "query vectors", lambda: conn.execute(_QUERIES, queries))
            counts = conn.execute(
                "SELECT count(*), count(*) FILTER (WHERE d.shared), count(*) FILTER (WHERE d.uploaded_by = %s)"
                " FROM document_chunks c JOIN documents d ON d.id = c.document_id",
                (users["uploader"],),
            ).fetchone()
            sizes = conn.execute(
                "SELECT pg_table_size('document_chunks'), pg_relation_size('idx_document_chunks_embedding'),"
                " pg_relation_size('idx_document_chunks_tsv')"
            ).fetchone()
            register_vector(conn)
            vectors = [row[0].to_list() for row in conn.execute("SELECT v FROM bench_queries ORDER BY q")]
        assert counts == (CHUNKS, CHUNKS // 10, CHUNKS // 10), counts
        rows = [(name, f"{seconds:6.1f} s") for name, seconds in timings.items()]
        rows += [
            ("total", f"{sum(timings.values()):6.1f} s"),
            ("settings", ", ".join(f"{k} {v}" for k, v in settings.items())),
            ("document_chunks heap + TOAST", _mib(sizes[0])),
            ("HNSW index / GIN index", f"{_mib(sizes[1])} / {_mib(sizes[2])}"),
        ]
        rows += [("index build notice", notice) for notice in notices if "hnsw" in notice.lower()]
        _report(
            f"document chunks: {counts[0]:,} chunks of {DIMENSIONS} dimensions in {DOCUMENTS:,} documents"
            f" ({counts[1]:,} in shared documents, {counts[2]:,} of one uploader); load",
            rows,
        )
        phases = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in timings.items())
        RESULTS.append(("load + index build", f"{sum(timings.values()):.1f} s ({phases})"))
        tokens = {
            "manager": issue_access_token(users["manager"], "manager"),
            "reader": issue_access_token(users["reader"], "user"),
        }
        conn = psycopg.connect(url, row_factory=dict_row)  # not autocommit: SET LOCAL lasts until the rollback
        try:
            yield {"url": url, "users": users, "tokens": tokens, "vectors": vectors, "conn": conn, "timings": timings}
        finally:
            conn.close()
    finally:
        _reset_containers()
        _truncate(url, backing.redis_url)
        with psycopg.connect(url, autocommit=True) as conn:
            for statement in INDEXES.values():
                conn.execute(statement.format(if_not="IF NOT EXISTS"))


# ------------------------------------------------------------------------------------------- semantic search


class _Explain:
    """A connection whose search statement is EXPLAINed instead of run: the plan :func:`semantic_candidates` gets."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn

    def execute(self, statement: str, params: Any = None) -> Any:
        if "WITH nearest" in statement:
            statement = "EXPLAIN " + statement
        return self.conn.execute(statement, params)


def _local(conn: psycopg.Connection, settings: dict[str, str]) -> None:
    for name, value in settings.items():
        conn.execute("SELECT set_config(%s, %s, true)", (name, value))


EXACT = {"enable_indexscan": "off"}  # and the route's own exact ranking (_exact_if), whatever the visible count
INDEX_ONLY = {"enable_seqscan": "off"}
EF_SWEEP = (40, 100, 200, 400)
Answer = tuple[list[int], list[float]]  # chunk ids and their distances, nearest first


@contextmanager
def _exact_if(settings: dict) -> Iterator[None]:
    """Under EXACT, the route's exact ranking however many chunks are visible (``EXACT_BELOW_CHUNKS`` raised)."""
    from warroom.documents import search as search_module

    saved = search_module.EXACT_BELOW_CHUNKS
    if settings is EXACT:
        search_module.EXACT_BELOW_CHUNKS = 10**12
    try:
        yield
    finally:
        search_module.EXACT_BELOW_CHUNKS = saved


def _plan(conn: psycopg.Connection, vector: list[float], where: str, params: list[Any], settings: dict) -> str:
    from warroom.documents.search import semantic_candidates

    _local(conn, settings)
    with _exact_if(settings):
        rows = semantic_candidates(_Explain(conn), vector, where, params, LIMIT)  # type: ignore[arg-type]
    conn.rollback()
    plan = "\n".join(row["QUERY PLAN"] for row in rows)
    if "idx_document_chunks_embedding" in plan:
        return "HNSW index scan"
    if re.search(r"Seq Scan on document_chunks", plan):
        return "exact: " + ("parallel seq scan" if "Parallel Seq Scan" in plan else "seq scan") + " + top-N sort"
    if "Sort" in plan:
        return "exact: the visible documents' chunks + top-N sort"
    return "other:\n" + plan


def _search(
    conn: psycopg.Connection, vector: list[float], where: str, params: list[Any], settings: dict
) -> tuple[float, Answer]:
    """One timed :func:`semantic_candidates` call (its visible-chunk count and ``set_config`` round trips included) in a
    transaction of its own, under ``settings`` (``SET LOCAL``, off the clock)."""
    from warroom.documents.search import semantic_candidates

    _local(conn, settings)
    with _exact_if(settings):
        started = time.perf_counter()
        rows = semantic_candidates(conn, vector, where, params, LIMIT)
        elapsed = time.perf_counter() - started
    conn.rollback()
    return elapsed, ([row["chunk_id"] for row in rows], [float(row["distance"]) for row in rows])


def _where(principal: Any, **filters: Any) -> tuple[str, list[Any]]:
    from warroom.documents.models import SearchRequest
    from warroom.documents.search import _filters

    return _filters(SearchRequest(query="bench", filters=filters), principal)


def _pass(corpus: dict[str, Any], where: str, params: list[Any], settings: dict) -> tuple[list[float], list[Answer]]:
    conn, vectors = corpus["conn"], corpus["vectors"]
    for vector in vectors[:WARM_UP]:  # the plans, the buffers
        _search(conn, vector, where, params, settings)
    times, answers = [], []
    for vector in vectors:
        elapsed, answer = _search(conn, vector, where, params, settings)
        times.append(elapsed)
        answers.append(answer)
    return times, answers


def _recall(answers: list[Answer], truth: list[Answer]) -> dict[str, float]:
    """Recall@LIMIT over all queries (found / asked, counted in whole chunks), the worst query's, the pages that came
    back short, and how much farther the answers are than the exact ones (mean cosine distance, mean of queries)."""
    found = [len(set(got[0]) & set(want[0])) for got, want in zip(answers, truth, strict=True)]
    gaps = [
        sum(got[1]) / len(got[1]) - sum(want[1]) / len(want[1])
        for got, want in zip(answers, truth, strict=True)
        if got[1]
    ]
    return {
        "recall": sum(found) / (LIMIT * len(truth)),
        "worst": min(found) / LIMIT,
        "short": sum(len(got[0]) < LIMIT for got in answers),
        "gap": sum(gaps) / len(gaps),
    }


@pytest.fixture(scope="module")
def exact(corpus: dict[str, Any]) -> dict[str, Any]:
    """The exact answer (and its timings) for every query vector, no filter: the recall baseline of the HNSW and
    halfvec measurements."""
    where, params = _where(_principal(corpus["users"]["manager"], "manager"))
    times, answers = _pass(corpus, where, params, EXACT)
    return {"times": times, "answers": answers, "where": (where, params)}


def _row(times: list[float], recall: dict[str, float] | None = None) -> str:
    text = f"p50 {_ms(times, 0.5):8.2f} ms  p95 {_ms(times, 0.95):8.2f} ms"
    if recall is not None:
        text += (
            f"  recall@{LIMIT} {recall['recall']:.3f} (worst query {recall['worst']:.1f}), short pages"
            f" {recall['short']}, distance +{recall['gap']:.4f}"
        )
    return text


def _sweep(corpus: dict[str, Any], where: str, params: list[Any], truth: list[Answer], monkeypatch) -> list:
    """semantic_candidates with EF_SEARCH at each of EF_SWEEP, the index scan forced (enable_seqscan off: from 200
    the planner would scan exactly instead, see the plans): what a larger ef_search would buy."""
    from warroom.documents import search as search_module

    rows = []
    monkeypatch.setattr(search_module, "EXACT_BELOW_CHUNKS", 0)  # HNSW however few chunks are visible
    for ef in EF_SWEEP:
        monkeypatch.setattr(search_module, "EF_SEARCH", ef)
        times, answers = _pass(corpus, where, params, INDEX_ONLY)
        rows.append((f"  ef_search {ef}, index scan forced", _row(times, _recall(answers, truth))))
    monkeypatch.undo()
    return rows


def test_hnsw_vs_exact_scan(corpus, exact, monkeypatch):
    from warroom.documents import search as search_module

    where, params = exact["where"]
    conn, vector = corpus["conn"], corpus["vectors"][0]
    plans = {
        "HNSW (as the route)": _plan(conn, vector, where, params, {}),
        "exact (enable_indexscan off)": _plan(conn, vector, where, params, EXACT),
    }
    times, answers = _pass(corpus, where, params, {})
    recall = _recall(answers, exact["answers"])
    speedup = _ms(exact["times"], 0.5) / _ms(times, 0.5)
    p95_speedup = _ms(exact["times"], 0.95) / _ms(times, 0.95)
    sweep = _sweep(corpus, where, params, exact["answers"], monkeypatch)
    _report(
        f"semantic search, no filter (a manager): semantic_candidates, limit {LIMIT}, {QUERIES} query vectors",
        [
            (f"HNSW (ef_search {search_module.EF_SEARCH}, iterative scans)", _row(times, recall)),
            ("exact scan (same call, enable_indexscan off)", _row(exact["times"])),
            ("speed-up, p50 / p50 (p95 / p95)", f"{speedup:.0f}x ({p95_speedup:.0f}x)"),
            *((f"plan: {name}", plan) for name, plan in plans.items()),
            ("recall by ef_search (evidence for EF_SEARCH):", ""),
            *sweep,
        ],
    )
    RESULTS.append(("HNSW, no filter", f"{_row(times, recall)}; exact p50 {_ms(exact['times'], 0.5):.0f} ms"))
    RESULTS.append(("HNSW speed-up over exact (p50)", f"{speedup:.0f}x"))
    assert plans["HNSW (as the route)"] == "HNSW index scan", plans
    assert recall["short"] == 0, "HNSW returned short pages without a filter"
    _target(f"recall@{LIMIT} >= {RECALL_TARGET} (no filter)", recall["recall"], RECALL_TARGET, FLOORS["recall"])
    _target(f"speed-up >= {SPEEDUP_TARGET:.0f}x over exact (p50)", speedup, SPEEDUP_TARGET, FLOORS["speedup"], "x")


FILTERS = [
    pytest.param("shared", id="shared-10pct-random"),
    pytest.param("uploader", id="uploader-10pct-correlated"),
]


@pytest.mark.parametrize("case", FILTERS)
def test_filtered_search_keeps_10_percent(corpus, case, monkeypatch):
    users = corpus["users"]
    if case == "shared":  # a user who uploaded nothing: the visibility condition keeps the shared 10 %
        where, params = _where(_principal(users["reader"], "user"))
        label = "a user who sees the 200 shared documents (10 %, at random)"
    else:  # a manager filtering on one uploader's 200 documents (10 %, of two and a half domains)
        where, params = _where(_principal(users["manager"], "manager"), uploaded_by=users["uploader"])
        label = "a manager filtering on one uploader's 200 documents (10 %, correlated with the vectors)"
    from warroom.documents import search as search_module

    conn, vector = corpus["conn"], corpus["vectors"][0]
    variants = {"route": {}, "exact": EXACT, "HNSW forced": INDEX_ONLY}
    plans, measured = {}, {}
    for name, settings in variants.items():
        if name == "HNSW forced":  # past the route's exact rule for few visible chunks, and the planner's choice
            monkeypatch.setattr(search_module, "EXACT_BELOW_CHUNKS", 0)
        plans[name] = _plan(conn, vector, where, params, settings)
        measured[name] = _pass(corpus, where, params, settings)
        monkeypatch.undo()
    truth = measured["exact"][1]
    recalls = {name: _recall(answers, truth) for name, (_, answers) in measured.items()}
    exact_p50 = _ms(measured["exact"][0], 0.5)
    sweep = _sweep(corpus, where, params, truth, monkeypatch)
    _report(
        f"semantic search with a 10 % filter: {label}; limit {LIMIT}, {QUERIES} query vectors",
        [
            *(
                (
                    f"{name} ({plans[name]})",
                    f"{_row(times, recalls[name])}  x{exact_p50 / _ms(times, 0.5):.1f} vs exact",
                )
                for name, (times, _) in measured.items()
            ),
            ("recall by ef_search:", ""),
            *sweep,
        ],
    )
    route, forced = recalls["route"], recalls["HNSW forced"]
    RESULTS.append(
        (
            f"10 % filter ({case})",
            f"route ({plans['route']}): {_row(measured['route'][0], route)}; exact p50 {exact_p50:.0f} ms",
        )
    )
    assert recalls["exact"]["recall"] == 1.0 and recalls["exact"]["short"] == 0
    assert route["short"] == 0, f"the route returned {route['short']} short pages under the filter"
    if case == "shared":
        _target(
            f"filtered recall@{LIMIT} >= {FILTERED_RECALL_TARGET}, full pages (route)",
            route["recall"],
            FILTERED_RECALL_TARGET,
            FLOORS["filtered recall"],
        )
        assert forced["short"] == 0, f"the HNSW iterative scan returned {forced['short']} short pages"
        if plans["route"] != plans["HNSW forced"]:
            _target(
                f"filtered recall@{LIMIT} >= {FILTERED_RECALL_TARGET}, full pages (HNSW iterative scan forced)",
                forced["recall"],
                FILTERED_RECALL_TARGET,
                FLOORS["filtered recall"],
            )
    else:  # the stress case: HNSW (printed) misses most neighbours; the route ranks the few visible chunks exactly
        assert route["recall"] == 1.0, route


# ----------------------------------------------------------------------------------------------------- halfvec


def test_halfvec_vs_vector(corpus, exact):
    from warroom.documents.search import EF_SEARCH, _vector_literal

    url, timings = corpus["url"], {}
    with psycopg.connect(url, autocommit=True) as admin:
        _timed(
            timings,
            "copy",
            lambda: admin.execute(
                f"CREATE TABLE bench_chunks_halfvec AS SELECT id, embedding::halfvec({DIMENSIONS}) AS embedding"
                " FROM document_chunks"
            ),
        )
        admin.execute("ALTER TABLE bench_chunks_halfvec ADD PRIMARY KEY (id)")
        admin.execute("VACUUM ANALYZE bench_chunks_halfvec")
        admin.execute("SET maintenance_work_mem = '1GB'")
        _timed(
            timings,
            "index",
            lambda: admin.execute(
                "CREATE INDEX bench_chunks_halfvec_hnsw ON bench_chunks_halfvec"
                " USING hnsw (embedding halfvec_cosine_ops) WITH (m = 32, ef_construction = 128)"
            ),
        )
        sizes = {
            kind: admin.execute(
                f"SELECT (SELECT sum(pg_column_size(embedding)) FROM {table}), pg_relation_size(%s)",  # names of ours
                (index,),
            ).fetchone()
            for kind, table, index in (
                ("vector", "document_chunks", "idx_document_chunks_embedding"),
                ("halfvec", "bench_chunks_halfvec", "bench_chunks_halfvec_hnsw"),
            )
        }
        halfvec_table = admin.execute("SELECT pg_table_size('bench_chunks_halfvec')").fetchone()[0]
    statements = {
        kind: f"SELECT id, embedding <=> %(q)s::{cast} AS distance FROM {table} ORDER BY embedding <=> %(q)s::{cast}"
        " LIMIT %(limit)s"
        for kind, cast, table in (
            ("vector", "vector", "document_chunks"),
            ("halfvec", f"halfvec({DIMENSIONS})", "bench_chunks_halfvec"),
        )
    }
    conn = corpus["conn"]

    def nearest(kind: str, literal: str) -> tuple[float, Answer]:
        _local(conn, {"hnsw.ef_search": str(EF_SEARCH), "hnsw.iterative_scan": "relaxed_order", **INDEX_ONLY})
        started = time.perf_counter()
        rows = conn.execute(statements[kind], {"q": literal, "limit": LIMIT}).fetchall()
        elapsed = time.perf_counter() - started
        conn.rollback()
        return elapsed, ([row["id"] for row in rows], [float(row["distance"]) for row in rows])

    literals = [_vector_literal(v) for v in corpus["vectors"]]
    for literal in literals[:WARM_UP]:
        nearest("vector", literal), nearest("halfvec", literal)
    times: dict[str, list[float]] = {"vector": [], "halfvec": []}
    answers: dict[str, list[Answer]] = {"vector": [], "halfvec": []}
    for literal in literals:  # interleaved, so that machine noise hits both alike
        for kind in times:
            elapsed, answer = nearest(kind, literal)
            times[kind].append(elapsed)
            answers[kind].append(answer)
    recalls = {kind: _recall(answers[kind], exact["answers"]) for kind in times}
    vector_bytes = sizes["vector"][0] + sizes["vector"][1]
    halfvec_bytes = sizes["halfvec"][0] + sizes["halfvec"][1]
    _report(
        f"halfvec({DIMENSIONS}) vs vector({DIMENSIONS}): the same {CHUNKS:,} vectors, HNSW each (m 32, ef_construction"
        f" 128), ORDER BY <=> LIMIT {LIMIT} alone (no join), ef_search {EF_SEARCH}, the index scan forced as the route"
        " forces it; recall vs the exact vector answer",
        [
            ("vector: column / HNSW index", f"{_mib(sizes['vector'][0])} / {_mib(sizes['vector'][1])}"),
            ("halfvec: column / HNSW index", f"{_mib(sizes['halfvec'][0])} / {_mib(sizes['halfvec'][1])}"),
            ("halfvec / vector, column + index", f"{halfvec_bytes / vector_bytes:.2f}"),
            ("halfvec table (id + halfvec, heap + TOAST)", _mib(halfvec_table)),
            ("halfvec copy / HNSW build", f"{timings['copy']:.1f} s / {timings['index']:.1f} s"),
            ("vector", _row(times["vector"], recalls["vector"])),
            ("halfvec", _row(times["halfvec"], recalls["halfvec"])),
        ],
    )
    RESULTS.append(
        (
            "halfvec vs vector",
            f"column + index {_mib(halfvec_bytes)} vs {_mib(vector_bytes)} ({halfvec_bytes / vector_bytes:.2f});"
            f" recall {recalls['halfvec']['recall']:.3f} vs {recalls['vector']['recall']:.3f};"
            f" p50 {_ms(times['halfvec'], 0.5):.2f} vs {_ms(times['vector'], 0.5):.2f} ms;"
            f" HNSW build {timings['index']:.0f} s vs {corpus['timings'][HNSW_BUILD]:.0f} s",
        )
    )
    assert sizes["halfvec"][1] < 0.6 * sizes["vector"][1] and sizes["halfvec"][0] < 0.6 * sizes["vector"][0], sizes
    assert recalls["halfvec"]["short"] == 0
    _target(
        f"halfvec recall@{LIMIT} >= {HALFVEC_RECALL_TARGET}", recalls["halfvec"]["recall"], HALFVEC_RECALL_TARGET,
        FLOORS["halfvec recall"],
    )  # fmt: skip


# ------------------------------------------------------------------------------------- hybrid, through the route


def _hybrid_queries() -> list[str]:
    """Varied hybrid questions: a topic's made-up word with common words, phrases, a precinct, two topics."""
    queries = []
    for i in range(HYBRID_QUERIES):
        topic = TOPIC_WORDS[(i * 37) % TOPICS]
        domain = DOMAIN_WORDS[(i * 37) % DOMAINS]
        other = TOPIC_WORDS[(i * 91 + 5) % TOPICS]
        queries.append(
            [
                f"{topic} turnout among young voters",
                f"what happened to early vote returns on {topic}?",
                f"{domain} office {topic} precinct {i * 997 % CHUNKS}",
                f'"{topic} team reports" televised debate',
                f"{topic} and {other} after the endorsement",
            ][i % 5]
        )
    return queries


def _search_event(token: str, query: str) -> dict[str, Any]:
    event = load_event("documents_search")
    event["headers"]["authorization"] = f"Bearer {token}"
    event["multiValueHeaders"]["authorization"] = [f"Bearer {token}"]
    event["body"] = json.dumps({"query": query, "limit": LIMIT, "mode": "hybrid"})
    return event


def test_hybrid_search_through_the_route(corpus):
    """The route as it is, then with every session planning each statement for its parameters (``plan_cache_mode =
    force_custom_plan`` set on the database for the new sessions of a new runtime): evidence for the keyword
    query's generic plan (psycopg prepares a statement on its fifth execution; PostgreSQL may then plan it once for
    any tsquery), see the parts below."""
    rows, shorts = [], {}
    for variant, custom in (("as is", False), ("custom plans", True)):
        with _custom_plans(corpus["url"], custom):
            for role, (times, both, short) in _route_pass(corpus).items():
                label = {"manager": "manager (every chunk)", "reader": "user (the shared 10 %)"}[role]
                shorts[f"{variant}, {role}"] = short
                rows.append(
                    (
                        f"{label}, {variant}",
                        f"{_row(times)}  short pages {short}, hits ranked by both {both} of {LIMIT * HYBRID_QUERIES}",
                    )
                )
    _report(
        f"POST /api/v1/documents/search, hybrid, limit {LIMIT}, through the handler: {HYBRID_QUERIES} varied queries"
        f" after {HYBRID_WARM_UP} warm-up calls, {CHUNKS:,} chunks",
        rows,
    )
    RESULTS.extend((f"hybrid route, {label}", value) for label, value in rows)
    assert not any(shorts.values()), f"hybrid pages came back short: {shorts}"


@contextmanager
def _custom_plans(url: str, on: bool) -> Iterator[None]:
    """With ``on``, new sessions of the test database plan every statement for its parameters (the pool is reopened
    before and after, so that only the sessions inside see it); the setting is reset afterwards."""
    if not on:
        yield
        return
    with psycopg.connect(url, autocommit=True) as conn:
        database = conn.execute("SELECT current_database()").fetchone()[0]
        conn.execute(f'ALTER DATABASE "{database}" SET plan_cache_mode = force_custom_plan')  # our test database
    _reset_containers()
    try:
        yield
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{database}" RESET plan_cache_mode')
        _reset_containers()


def _route_pass(corpus: dict[str, Any]) -> dict[str, tuple[list[float], int, int]]:
    """Each role's hybrid searches through a new runtime (new containers, new sessions): (times, hits ranked by both
    rankings, short pages)."""
    from warroom.core.config import reset_settings

    previous = os.environ.get("WARROOM_USER_RATE_LIMIT_PER_HOUR")
    os.environ["WARROOM_USER_RATE_LIMIT_PER_HOUR"] = "0"  # the quota is measured elsewhere
    reset_settings()
    functions = read_functions(load_template(PROJECT_ROOT / "template.yaml"), PROJECT_ROOT)
    runtime = LambdaRuntime(functions, {name: {} for name in functions})
    queries, figures = _hybrid_queries(), {}
    try:
        for role, token in corpus["tokens"].items():
            for query in queries[:HYBRID_WARM_UP]:  # the container, the plans, the buffers
                answer = runtime.invoke("DocumentsFunction", _search_event(token, query))
                assert answer["statusCode"] == 200, answer["body"]
            times, both, short = [], 0, 0
            for query in queries:
                event = _search_event(token, query)
                started = time.perf_counter()
                answer = runtime.invoke("DocumentsFunction", event)
                times.append(time.perf_counter() - started)
                assert answer["statusCode"] == 200, answer["body"]
                body = json.loads(answer["body"])
                assert body["mode"] == "hybrid" and body["fallback"] is None, body
                short += len(body["hits"]) < LIMIT
                both += sum(bool(h["ranks"]["semantic"] and h["ranks"]["keyword"]) for h in body["hits"])
                if role == "reader":
                    assert all(h["document"]["shared"] for h in body["hits"])
            figures[role] = (times, both, short)
    finally:
        runtime.close()
        if previous is None:
            os.environ.pop("WARROOM_USER_RATE_LIMIT_PER_HOUR", None)
        else:
            os.environ["WARROOM_USER_RATE_LIMIT_PER_HOUR"] = previous
        reset_settings()
    return figures


_ANY_TERM_MATCHES = (
    "SELECT count(*) AS n FROM document_chunks AS c JOIN documents AS d ON d.id = c.document_id,"
    " (SELECT replace(websearch_to_tsquery('english', %s)::text, ' & ', ' | ')::tsquery AS query) AS q"
    " WHERE c.tsv @@ q.query AND {where}"
)


def test_hybrid_search_parts_in_process(corpus):
    """Where a hybrid search's time goes, on the layer's pooled connections (as the route's): search() itself, its
    two candidate queries alone, the keyword one again planned for its parameters (``plan_cache_mode =
    force_custom_plan``, local), and, as evidence, keyword candidates requiring every term instead of any."""
    from warroom.core.db import connection
    from warroom.documents.embeddings import embed_texts
    from warroom.documents.models import SearchRequest
    from warroom.documents.search import CANDIDATES, keyword_candidates, search, semantic_candidates

    custom = {"plan_cache_mode": "force_custom_plan"}
    queries, users, rows = _hybrid_queries(), corpus["users"], []
    for role, principal in (
        ("manager", _principal(users["manager"], "manager")),
        ("reader", _principal(users["reader"], "user")),
    ):
        where, params = _where(principal)
        parts: dict[str, tuple[dict[str, str], Callable[..., Any]]] = {
            "semantic_candidates": ({}, lambda c, q, v: semantic_candidates(c, v, where, params, CANDIDATES)),
            "keyword_candidates, any term (the route's)": (
                {},
                lambda c, q, v: keyword_candidates(c, q, where, params, CANDIDATES, any_term=True),
            ),
            "keyword_candidates, any term, custom plans": (
                custom,
                lambda c, q, v: keyword_candidates(c, q, where, params, CANDIDATES, any_term=True),
            ),
            "keyword_candidates, every term, custom plans": (
                custom,
                lambda c, q, v: keyword_candidates(c, q, where, params, CANDIDATES),
            ),
        }
        times: dict[str, list[float]] = {"search() (the layer)": [], **{name: [] for name in parts}}
        matches, every_term_hits = [], 0
        for query in queries:  # interleaved, so that machine noise hits all alike
            started = time.perf_counter()
            search(SearchRequest(query=query, limit=LIMIT), principal)
            times["search() (the layer)"].append(time.perf_counter() - started)
            vector = embed_texts([query], mode="MOCK").vectors[0]
            for name, (settings, call) in parts.items():
                with connection() as conn:
                    _local(conn, settings)
                    started = time.perf_counter()
                    found = call(conn, query, vector)
                    times[name].append(time.perf_counter() - started)
                if name.startswith("keyword_candidates, every term"):
                    every_term_hits += len(found)
            with connection() as conn:
                matches.append(conn.execute(_ANY_TERM_MATCHES.format(where=where), (query, *params)).fetchone()["n"])
        rows += [(f"{role}: {name}", _row(samples)) for name, samples in times.items()]
        rows.append(
            (
                f"{role}: chunks matching any term / every term",
                f"median {_percentile(matches, 0.5):,}, max {max(matches):,} / {every_term_hits} hits in all"
                f" ({len(queries)} queries, {CANDIDATES} candidates at most each)",
            )
        )
    _report(
        f"hybrid search's parts in process, pooled connections: the {len(queries)} queries of the route measurement",
        rows,
    )
    RESULTS.extend((f"hybrid parts, {name}", value) for name, value in rows)


# ---------------------------------------------------------------------------------------------------- ingest


def test_ingest_throughput_with_mock_embeddings(corpus):
    import boto3

    from tests import document_samples as samples
    from warroom.documents.chunking import chunk_document
    from warroom.documents.embeddings import embed_texts
    from warroom.documents.extract import extract
    from warroom.documents.processing import process_uploaded
    from warroom.documents.summaries import summarize

    started = time.perf_counter()
    data = samples.pdf_bytes(samples.report_pages(INGEST_PAGES), title="Field report")
    built_s = time.perf_counter() - started
    document_id = str(uuid.uuid4())
    key = f"documents/{document_id}/field-report.pdf"
    s3 = boto3.client("s3")
    etag = s3.put_object(Bucket=UPLOADS_BUCKET, Key=key, Body=data)["ETag"].strip('"')
    with psycopg.connect(corpus["url"], autocommit=True) as conn:
        conn.execute(
            "INSERT INTO documents (id, filename, file_path, status, size_bytes, content_type, s3_bucket, s3_key,"
            " s3_etag, uploaded_by) VALUES (%s, 'field-report.pdf', %s, 'uploaded', %s, 'application/pdf', %s, %s,"
            " %s, %s)",
            (document_id, f"s3://{UPLOADS_BUCKET}/{key}", len(data), UPLOADS_BUCKET, key, etag,
             corpus["users"]["owner"]),
        )  # fmt: skip
        started = time.perf_counter()
        outcome = process_uploaded(UPLOADS_BUCKET, key, etag)
        total_s = time.perf_counter() - started
        row = conn.execute(
            "SELECT status, page_count, chunk_count, (SELECT count(*) FROM document_chunks WHERE document_id = d.id)"
            " FROM documents d WHERE id = %s",
            (document_id,),
        ).fetchone()
    assert outcome == "processed" and row[0] == "processed", (outcome, row)
    assert row[1] == INGEST_PAGES and row[2] == row[3] > 0, row
    # Each phase alone, afterwards (the MOCK model's caches are warm now, as in a container's later documents).
    phases: dict[str, float] = {}
    body = _timed(phases, "S3 get", lambda: s3.get_object(Bucket=UPLOADS_BUCKET, Key=key)["Body"].read())
    extracted = _timed(phases, "extract (pypdfium2)", lambda: extract(body, "field-report.pdf"))
    chunks = _timed(phases, "chunk", lambda: chunk_document(extracted))
    texts = [c.text for c in chunks]
    _timed(phases, "embed (MOCK)", lambda: embed_texts(texts, mode="MOCK"))
    full_text = "\n\n".join(page.text for page in extracted.pages)
    _timed(phases, "summary (extractive)", lambda: summarize(full_text, mode="MOCK", title="Field report"))
    rest = total_s - sum(phases.values())
    rate = INGEST_PAGES / total_s
    _report(
        f"ingest: a {INGEST_PAGES}-page PDF ({len(data) / 1024:.0f} KiB, built in {built_s:.1f} s off the clock)"
        f" through process_uploaded into the {CHUNKS:,}-chunk table (HNSW + GIN maintained)",
        [
            ("process_uploaded", f"{total_s:.2f} s: {rate:.0f} pages/s, {row[2]} chunks ({row[2] / total_s:.0f}/s)"),
            *((f"  {name} (alone, afterwards)", f"{seconds:.2f} s") for name, seconds in phases.items()),
            ("  the rest: claim, insert the chunks (indexes), update", f"{rest:.2f} s (total minus the phases)"),
        ],
    )
    RESULTS.append(("ingest (MOCK embeddings)", f"{rate:.0f} pages/s ({INGEST_PAGES} pages, {row[2]} chunks)"))
    assert rate > 0


def test_print_summary():
    """The figures in one table (the last test of the module)."""
    _report("document search, summary", RESULTS)
    _report("targets (met ones asserted; a MISSED one asserts the level achieved, FLOORS)", TARGETS)
