"""Social-listening benchmarks (``make bench``) on a table of over 1,000,000 mentions, each a ratio against a
baseline measured in the same run (printed; the only assertions are correctness checks, never timings).

1. Bulk ingest (the real ``ingest_mentions`` path: key look-up, binary COPY straight into ``mentions``,
   both rollups, in batches of the mock source's page size) in rows/s, vs. a raw ``COPY`` of the same rows
   into a bare copy of the table (same columns, defaults and generated ``tsvector``; no index, no
   constraint) -- the very rows ingest sends, ids included, in the same binary format: the fastest way to
   load them -- target >= 0.4 -- and vs. a row-by-row ``INSERT`` loop on a sample into the same filled table
   (every index and the unique key; no rollups; rolled back) -- target >= 8x -- and vs. the same pipeline fed
   one mention at a time (the same work as the bulk path). Also printed: the earlier, weaker COPY baseline
   (text format, ids left to the column default) and ingest in pages of 500 (Mentionlytics-size pages).
2. The dashboard KPIs from the rollups (``compute_kpis``) vs. the raw seed aggregate over ``mentions``
   (``raw_kpis``) -- target >= 50x faster -- and the two answers are asserted equal.
3. ``GET /api/v1/mentionlytics/mentions`` with ``q`` and filters through the real handler (LambdaRuntime +
   ``events/mentions_list.json``): p50 / p95 over 200 varied requests, vs. the same requests without ``q``.

The mentions are generated once by the mock source (one module fixture), scored once, and reused by
every measurement. Set ``WARROOM_BENCH_MENTIONS`` to try a smaller table.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import statistics
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from localcloud.lambda_runtime import LambdaRuntime
from localcloud.template import load_template, read_functions
from tests.conftest import PROJECT_ROOT, Backing, _reset_containers, load_event

TABLE_ROWS = int(os.environ.get("WARROOM_BENCH_MENTIONS", "1000000"))
ROW_BY_ROW_SAMPLE = 20_000
PIPELINE_ROW_SAMPLE = 2_000
SMALL_PAGE = 500  # Mentionlytics-size pages (its API pages are 100 by default)
SMALL_PAGE_ROWS = 50_000
KPI_RUNS = 5
REQUESTS = 200
# The end of the generated history: the KPIs' 24-hour windows both lie inside it.
NOW = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - dt.timedelta(minutes=1)
RESULTS: dict[str, str] = {}
# Building the table (generate + ingest over a million mentions) takes a few minutes on 2 cores.
pytestmark = pytest.mark.timeout(1200)


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _report(title: str, rows: list[tuple[str, str]]) -> None:
    width = max((len(name) for name, _ in rows), default=0)
    print(f"\n{title}")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")


def _truncate(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'"
            )
        ]
        conn.execute("SET warroom.allow_audit_truncate = on")
        conn.execute("TRUNCATE " + ", ".join(tables) + " CASCADE")  # names from the catalogue
        conn.execute("DROP TABLE IF EXISTS bench_mentions_bare")


def _generate() -> list[Any]:
    """At least TABLE_ROWS mock mentions ending at NOW (about 150 a minute, so roughly five days)."""
    from warroom.mentions.sentiment import fill_missing_scores
    from warroom.mentions.sources.mock import MockSource

    per_minute = 150.0
    source = MockSource(mean_per_minute=per_minute, page_size=10**9)
    span = dt.timedelta(minutes=int(TABLE_ROWS / per_minute * 1.1) + 1)
    mentions: list[Any] = []
    end = NOW
    while len(mentions) < TABLE_ROWS:
        mentions = source.fetch(end - span, end, None).mentions + mentions
        end, span = end - span, dt.timedelta(hours=6)
    fill_missing_scores(mentions)  # once, here: every path below stores the very same rows
    return mentions


@pytest.fixture(scope="module")
def loaded(backing: Backing) -> Iterator[dict[str, Any]]:
    """The corpus generated once and ingested through the real path (timed); the table dropped afterwards."""
    from warroom.mentions.ingest import ingest_mentions
    from warroom.mentions.sources.mock import MockSource

    _reset_containers()
    _truncate(backing.database_url)
    started = time.perf_counter()
    mentions = _generate()
    generated_s = time.perf_counter() - started
    batch = MockSource().page_size
    started = time.perf_counter()
    inserted = 0
    for offset in range(0, len(mentions), batch):
        # The back-fill path (no live stream, no detection hand-off), as `warroom dev` fills history.
        inserted += ingest_mentions(mentions[offset : offset + batch], stream=False).inserted
    ingest_s = time.perf_counter() - started
    with psycopg.connect(backing.database_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE mentions")
        conn.execute("VACUUM ANALYZE mention_rollups_minute")
        conn.execute("VACUUM ANALYZE mention_rollups_hour")
    assert inserted == len(mentions) >= TABLE_ROWS
    yield {"mentions": mentions, "ingest_s": ingest_s, "generated_s": generated_s, "batch": batch}
    _reset_containers()
    _truncate(backing.database_url)


def test_bulk_ingest_vs_raw_copy_and_row_by_row_insert(loaded, backing):
    from warroom.mentions.ingest import INSERT_COLUMNS, _row, copy_mentions, ingest_mentions, new_ids

    mentions = loaded["mentions"]
    # The rows exactly as ingest sends them (ids included), built before any clock starts.
    rows = [_row(mention, mention_id) for mention, mention_id in zip(mentions, new_ids(len(mentions)), strict=True)]
    text_rows = [row[1:] for row in rows]
    columns = ", ".join(INSERT_COLUMNS)
    with psycopg.connect(backing.database_url) as conn:
        # Baseline 1: raw COPY of the same rows into a bare copy of the table (no index, no constraint), in the
        # binary format and with the ids ingest sends (so the heap is written in multi-row batches, as for ingest).
        conn.execute("CREATE TABLE bench_mentions_bare (LIKE mentions INCLUDING DEFAULTS INCLUDING GENERATED)")
        conn.commit()
        started = time.perf_counter()
        copy_mentions(conn, "bench_mentions_bare", rows)
        conn.commit()
        copy_s = time.perf_counter() - started
        stored = conn.execute("SELECT count(*) FROM bench_mentions_bare").fetchone()[0]
        # For reference, the earlier baseline: text COPY of the same rows without ids (the column default makes
        # them, row by row).
        conn.execute("TRUNCATE bench_mentions_bare")
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cur, cur.copy(f"COPY bench_mentions_bare ({columns}) FROM STDIN") as copy:
            for row in text_rows:
                copy.write_row(row)
        conn.commit()
        text_copy_s = time.perf_counter() - started
        # Baseline 2: a row-at-a-time INSERT loop (prepared, one transaction) into the same filled table, every
        # index and the unique key included, under new ids; rolled back, so the table and rollups are unchanged.
        sample = text_rows[:: max(1, len(rows) // ROW_BY_ROW_SAMPLE)][:ROW_BY_ROW_SAMPLE]
        sample = [(row[0], f"rowwise-{row[1]}", *row[2:]) for row in sample]
        placeholders = ", ".join(["%s"] * len(INSERT_COLUMNS))
        insert = (
            f"INSERT INTO mentions ({columns}) VALUES ({placeholders}) ON CONFLICT (provider, external_id) DO NOTHING"
        )
        started = time.perf_counter()
        with conn.cursor() as cur:
            for row in sample:
                cur.execute(insert, row)
        rowwise_s = time.perf_counter() - started
        conn.rollback()
        conn.execute("DROP TABLE bench_mentions_bare")
        conn.commit()
    assert stored == len(rows)
    # Baseline 3: the same work (insert + both rollups) a mention at a time, through the real pipeline, on
    # copies of a sample under new ids (they stay in the table, rolled up, so the KPIs below still agree).
    step = max(1, len(mentions) // PIPELINE_ROW_SAMPLE)
    copies = [m.model_copy(update={"external_id": f"rowwise-{m.external_id}"}) for m in mentions[::step]]
    copies = copies[:PIPELINE_ROW_SAMPLE]
    started = time.perf_counter()
    for mention in copies:
        assert ingest_mentions([mention], stream=False).inserted == 1
    pipeline_rowwise_s = time.perf_counter() - started
    # Ingest in smaller pages: a contiguous stretch of the history again, under new ids (rolled up, kept).
    middle = len(mentions) // 2
    pages = [m.model_copy(update={"external_id": f"page-{m.external_id}"}) for m in mentions[middle:]]
    pages = pages[:SMALL_PAGE_ROWS]
    started = time.perf_counter()
    for offset in range(0, len(pages), SMALL_PAGE):
        ingest_mentions(pages[offset : offset + SMALL_PAGE], stream=False)
    small_pages_s = time.perf_counter() - started

    ingest_rate = len(mentions) / loaded["ingest_s"]
    copy_rate = len(rows) / copy_s
    text_copy_rate = len(rows) / text_copy_s
    rowwise_rate = len(sample) / rowwise_s
    pipeline_rowwise_rate = len(copies) / pipeline_rowwise_s
    small_pages_rate = len(pages) / small_pages_s
    vs_copy, vs_rowwise = ingest_rate / copy_rate, ingest_rate / rowwise_rate
    vs_pipeline_rowwise = ingest_rate / pipeline_rowwise_rate
    RESULTS["ingest"] = (
        f"{ingest_rate:,.0f} rows/s vs COPY {copy_rate:,.0f} rows/s: {vs_copy:.2f}; "
        f"vs row-by-row INSERT {rowwise_rate:,.0f} rows/s: {vs_rowwise:.1f}x; "
        f"vs the pipeline a row at a time {pipeline_rowwise_rate:,.0f} rows/s: {vs_pipeline_rowwise:.0f}x; "
        f"pages of {SMALL_PAGE}: {small_pages_rate:,.0f} rows/s ({small_pages_rate / copy_rate:.2f} of COPY, "
        f"{small_pages_rate / rowwise_rate:.1f}x row-by-row)"
    )
    _report(
        f"bulk ingest of {len(mentions):,} mock mentions (generated and scored once in {loaded['generated_s']:.0f} s)",
        [
            (f"ingest_mentions, batches of {loaded['batch']:,}", f"{ingest_rate:>10,.0f} rows/s"),
            ("raw COPY into a bare copy of the table", f"{copy_rate:>10,.0f} rows/s"),
            ("  (for reference: text COPY, ids by the default)", f"{text_copy_rate:>10,.0f} rows/s"),
            (f"row-by-row INSERT (no rollups), {len(sample):,} rows", f"{rowwise_rate:>10,.0f} rows/s"),
            (f"ingest_mentions a row at a time, {len(copies):,} rows", f"{pipeline_rowwise_rate:>10,.0f} rows/s"),
            (f"ingest_mentions, pages of {SMALL_PAGE}, {len(pages):,} rows", f"{small_pages_rate:>10,.0f} rows/s"),
            ("ingest / COPY (target >= 0.4)", f"{vs_copy:>10.2f}"),
            ("ingest / row-by-row INSERT (target >= 8x)", f"{vs_rowwise:>9.1f}x"),
            ("ingest / pipeline a row at a time", f"{vs_pipeline_rowwise:>9.0f}x"),
            (
                f"pages of {SMALL_PAGE}: / COPY, / row-by-row INSERT",
                f"{small_pages_rate / copy_rate:>10.2f}  {small_pages_rate / rowwise_rate:.1f}x",
            ),
        ],
    )
    assert ingest_rate > 0


def test_dashboard_kpis_from_rollups_vs_raw_aggregate(loaded):
    from warroom.dashboard.kpis import compute_kpis, raw_kpis

    # warm both (plans, buffers), then time them interleaved
    from_rollups, from_raw = compute_kpis(NOW), raw_kpis(NOW)
    rollup_s, raw_s = [], []
    for _ in range(KPI_RUNS):
        started = time.perf_counter()
        compute_kpis(NOW)
        rollup_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        raw_kpis(NOW)
        raw_s.append(time.perf_counter() - started)
    from_rollups.pop("computed_at"), from_raw.pop("computed_at")
    equal = from_rollups == from_raw
    rollup_ms, raw_ms = statistics.median(rollup_s) * 1000, statistics.median(raw_s) * 1000
    RESULTS["kpis"] = f"{rollup_ms:.1f} ms vs {raw_ms:.0f} ms: {raw_ms / rollup_ms:.0f}x, equal: {equal}"
    _report(
        f"dashboard KPIs over {len(loaded['mentions']):,} mentions, median of {KPI_RUNS}",
        [
            ("from the rollups (compute_kpis)", f"{rollup_ms:9.1f} ms"),
            ("raw seed aggregate over mentions (raw_kpis)", f"{raw_ms:9.1f} ms"),
            ("speed-up (target >= 50x)", f"{raw_ms / rollup_ms:9.0f}x"),
            ("same numbers", f"{equal!s:>9} (mentions_24h {from_rollups['mentions_24h']:,})"),
        ],
    )
    assert equal, (from_rollups, from_raw)
    assert from_rollups["mentions_24h"] > 0


def _event(token: str, query: dict[str, str]) -> dict[str, Any]:
    event = load_event("mentions_list")
    event["headers"]["authorization"] = f"Bearer {token}"
    event["multiValueHeaders"]["authorization"] = [f"Bearer {token}"]
    event["queryStringParameters"] = dict(query)
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()}
    return event


def _queries(count: int) -> list[tuple[dict[str, str], dict[str, str]]]:
    """Pairs of (filters, filters + q): varied words, sources, sentiment ranges, countries and periods."""
    from warroom.mentions.sources.mock import CHANNELS, TOPICS

    rng = random.Random(7)
    words = [w for phrase, keywords in TOPICS.values() for w in (phrase.removeprefix("the "), *keywords)]
    words += ["Alvarez rally", "Blake", "prices OR wages", '"clean energy"', "debate -moderator"]
    pairs = []
    for _ in range(count):
        filters: dict[str, str] = {"limit": rng.choice(["20", "50", "100"])}
        if rng.random() < 0.5:
            filters["source"] = rng.choice(list(CHANNELS))
        if rng.random() < 0.4:
            low = rng.choice([-1.0, -0.5, 0.0, 0.3])
            filters["sentiment_min"], filters["sentiment_max"] = str(low), str(min(1.0, low + 0.8))
        if rng.random() < 0.3:
            filters["country"] = rng.choice(["US", "GB", "CA"])
        if rng.random() < 0.5:
            start = NOW - dt.timedelta(hours=rng.randint(2, 96))
            filters["from"] = start.isoformat().replace("+00:00", "Z")
            filters["to"] = (start + dt.timedelta(hours=rng.choice([1, 6, 24]))).isoformat().replace("+00:00", "Z")
        pairs.append((filters, {**filters, "q": rng.choice(words)}))
    return pairs


def test_list_mentions_with_full_text_and_filters_p50_p95(loaded, backing):
    from warroom.core.config import reset_settings
    from warroom.core.security import issue_access_token

    previous = os.environ.get("WARROOM_USER_RATE_LIMIT_PER_HOUR")
    os.environ["WARROOM_USER_RATE_LIMIT_PER_HOUR"] = "0"  # the quota is measured elsewhere
    reset_settings()
    functions = read_functions(load_template(PROJECT_ROOT / "template.yaml"), PROJECT_ROOT)
    runtime = LambdaRuntime(functions, {name: {} for name in functions})
    try:
        with psycopg.connect(backing.database_url, autocommit=True) as conn:
            (user_id,) = conn.execute(
                "INSERT INTO users (email, password_hash, role) VALUES ('bench-reader@example.org', 'x', 'readonly')"
                " RETURNING id"
            ).fetchone()
        token = issue_access_token(str(user_id), "readonly")
        pairs = _queries(REQUESTS)
        for plain, searched in pairs[:20]:  # warm the container, the plans and the buffers
            for query in (plain, searched):
                answer = runtime.invoke("MentionsFunction", _event(token, query))
                assert answer["statusCode"] == 200, answer["body"]
        plain_s, searched_s, hits = [], [], 0
        for plain, searched in pairs:  # interleaved, so that machine noise hits both alike
            event = _event(token, plain)
            started = time.perf_counter()
            answer = runtime.invoke("MentionsFunction", event)
            plain_s.append(time.perf_counter() - started)
            assert answer["statusCode"] == 200, answer["body"]
            event = _event(token, searched)
            started = time.perf_counter()
            answer = runtime.invoke("MentionsFunction", event)
            searched_s.append(time.perf_counter() - started)
            assert answer["statusCode"] == 200, answer["body"]
            hits += len(json.loads(answer["body"])["items"])
    finally:
        runtime.close()
        if previous is None:
            os.environ.pop("WARROOM_USER_RATE_LIMIT_PER_HOUR", None)
        else:
            os.environ["WARROOM_USER_RATE_LIMIT_PER_HOUR"] = previous
        reset_settings()

    def ms(samples: list[float], fraction: float) -> float:
        return _percentile(samples, fraction) * 1000

    p50, p95 = ms(searched_s, 0.5), ms(searched_s, 0.95)
    base50, base95 = ms(plain_s, 0.5), ms(plain_s, 0.95)
    RESULTS["list"] = (
        f"with q: p50 {p50:.1f} ms, p95 {p95:.1f} ms; without q: p50 {base50:.1f} ms, p95 {base95:.1f} ms "
        f"({p50 / base50:.1f}x / {p95 / base95:.1f}x)"
    )
    _report(
        f"GET /api/v1/mentionlytics/mentions through the handler, {REQUESTS} varied requests each,"
        f" {len(loaded['mentions']):,} mentions",
        [
            ("with q + filters", f"p50 {p50:7.1f} ms   p95 {p95:7.1f} ms"),
            ("same filters without q (baseline)", f"p50 {base50:7.1f} ms   p95 {base95:7.1f} ms"),
            ("ratio", f"p50 {p50 / base50:7.1f}x    p95 {p95 / base95:7.1f}x"),
            ("mentions returned with q", f"{hits:,}"),
        ],
    )
    assert hits > 0


def test_print_summary():
    """The three results in one table (the last test of the module)."""
    _report("social listening, summary", sorted(RESULTS.items()))
