"""A report or a query as one shape every format writes: titled facts, charts and tables of streamed rows.

Example
-------
>>> with export_content(ExportBody(query=MentionsSource(kind="mentions", source="reddit")), principal) as content:
...     for table in content.tables:
...         for row in table.rows:          # a generator: rows come from a server-side cursor or page by page
...             ...

A query's rows are read as they are written (mentions through ``stream_mention_rows``'s server-side cursor,
alerts and the audit log page by page through their own list functions), so memory stays flat however many
rows match. Its chart is filled while the rows stream (:class:`DailyTally`); the PDF draws it last, on the page
reserved for it after the title page.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from warroom.audit.models import AuditQuery
from warroom.audit.trail import list_entries
from warroom.campaigns.models import CampaignMetrics, DateRangeQuery, InsightsOut, MetricsQuery
from warroom.campaigns.queries import account_insights, campaign_metrics, resolve_period
from warroom.core.db import connection
from warroom.core.errors import Forbidden
from warroom.core.security import Principal
from warroom.crisis.alerts import list_alerts
from warroom.crisis.models import AlertListQuery
from warroom.mentions.models import sentiment_label
from warroom.mentions.queries import mention_totals, stream_mention_rows
from warroom.reports.models import (
    AlertsSource,
    AuditLogSource,
    CampaignMetricsSource,
    ExportBody,
    MentionsSource,
)
from warroom.reports.store import get_report

PAGE_ROWS = 200


@dataclass
class Chart:
    """A chart of one or more series over labels (days, buckets, topics): ``line`` or ``bar``."""

    title: str
    labels: list[str]
    series: dict[str, list[float | None]]
    kind: str = "line"


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: Iterable[Sequence[Any]]
    # Relative column widths in the PDF (equal when empty).
    widths: list[float] = field(default_factory=list)


@dataclass
class ExportContent:
    """What an export holds: a title, facts (title page), charts, tables; ``document`` for JSON."""

    name: str
    title: str
    subtitle: str
    facts: list[tuple[str, str]]
    tables: list[Table]
    charts: Callable[[], list[Chart]]
    # JSON: the whole document of a report (its API shape), or None for a query (rows streamed as objects).
    document: Any = None
    kind: str = "report"
    filters: dict[str, Any] = field(default_factory=dict)
    row_count: Callable[[], int] = lambda: 0


class DailyTally:
    """Per-day counts (and a value's mean) gathered while rows stream past, for a query's chart."""

    def __init__(self) -> None:
        self.count: dict[str, int] = {}
        self.value_sum: dict[str, float] = {}
        self.value_n: dict[str, int] = {}
        self.rows = 0

    def add(self, moment: dt.datetime | dt.date | None, value: float | None = None) -> None:
        self.rows += 1
        if moment is None:
            return
        day = moment.strftime("%Y-%m-%d")
        self.count[day] = self.count.get(day, 0) + 1
        if value is not None:
            self.value_sum[day] = self.value_sum.get(day, 0.0) + float(value)
            self.value_n[day] = self.value_n.get(day, 0) + 1

    def charts(self, count_title: str, value_title: str | None = None) -> list[Chart]:
        days = sorted(self.count)
        charts = [Chart(count_title, days, {"count": [float(self.count[d]) for d in days]}, kind="bar")]
        if value_title and self.value_n:
            means = [round(self.value_sum[d] / self.value_n[d], 4) if self.value_n.get(d) else None for d in days]
            charts.append(Chart(value_title, days, {"average": means}))
        return charts


def cell_text(value: Any) -> Any:
    """A value as a cell: numbers stay numbers, times ISO 8601, lists joined, the rest text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    if isinstance(value, Decimal):
        return float(value) if value != value.to_integral_value() else int(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "; ".join(str(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))
    return str(value)


# ---------------------------------------------------------------------------------------------- queries

MENTION_COLUMNS = [
    "published_at",
    "source",
    "author",
    "handle",
    "country",
    "language",
    "sentiment_score",
    "sentiment_label",
    "reach",
    "likes",
    "shares",
    "comments",
    "topics",
    "url",
    "content",
    "id",
]
MENTION_WIDTHS = [15, 8, 12, 10, 5, 5, 6, 7, 7, 5, 5, 5, 12, 0, 40, 0]


def _mention_row(row: dict[str, Any]) -> list[Any]:
    score = float(row["sentiment_score"]) if row["sentiment_score"] is not None else None
    return [
        row["published_at"],
        row["source"],
        row["author_name"],
        row["author_handle"],
        row["country"],
        row["language"],
        score,
        sentiment_label(score),
        row["reach"],
        row["likes"],
        row["shares"],
        row["comments"],
        list(row["topics"] or []),
        row["url"],
        row["content"],
        row["id"],
    ]


def count_rows(body: ExportBody) -> int:
    """How many rows the export of ``body`` holds (a report's tables are small: their row count)."""
    query = body.query
    if query is None:
        return 0
    if isinstance(query, MentionsSource):
        with connection() as conn:
            return int(mention_totals(conn, query)["mentions"])
    if isinstance(query, CampaignMetricsSource):
        since, until = resolve_period(DateRangeQuery.model_validate({"from": query.from_, "to": query.to}))
        return ((until - since).days + 1) * (1 if query.platform or query.campaign_id else 2)
    return sum(1 for _ in _paged_rows(query))


def _paged_rows(query: AlertsSource | AuditLogSource) -> Iterator[Any]:
    """Every alert or audit entry matching ``query``, newest first, a page of 200 at a time."""
    cursor = None
    filters = query.model_dump(by_alias=True, exclude={"kind"}, exclude_none=True)
    while True:
        if isinstance(query, AlertsSource):
            page = list_alerts(AlertListQuery.model_validate({**filters, "limit": PAGE_ROWS, "cursor": cursor}))
        else:
            page = list_entries(AuditQuery.model_validate({**filters, "limit": PAGE_ROWS, "cursor": cursor}))
        yield from page.items
        cursor = page.next_cursor
        if cursor is None:
            return


def _query_content(query: Any, stack: contextlib.ExitStack) -> ExportContent:
    filters = query.model_dump(mode="json", by_alias=True, exclude={"kind"}, exclude_none=True)
    subtitle = "Filters: " + (", ".join(f"{k} = {v}" for k, v in filters.items()) if filters else "none")
    tally = DailyTally()
    if isinstance(query, MentionsSource):
        conn = stack.enter_context(connection())
        stack.enter_context(conn.transaction())

        def mention_rows() -> Iterator[list[Any]]:
            for row in stream_mention_rows(conn, query):
                tally.add(row["published_at"], row["sentiment_score"])
                yield _mention_row(row)

        table = Table("Mentions", MENTION_COLUMNS, mention_rows(), MENTION_WIDTHS)
        charts = lambda: tally.charts("Mentions per day", "Average sentiment per day")  # noqa: E731
        title = "Mentions export"
    elif isinstance(query, AlertsSource):

        def alert_rows() -> Iterator[list[Any]]:
            for alert in _paged_rows(query):
                tally.add(alert.detected_at)
                subject = f"{alert.subject.dimension}: {alert.subject.value}" if alert.subject else None
                yield [
                    alert.detected_at,
                    alert.severity,
                    alert.status,
                    alert.kind,
                    alert.title,
                    subject,
                    alert.acknowledged_at,
                    alert.resolved_at,
                    alert.linked_mentions,
                    alert.id,
                ]

        columns = ["detected_at", "severity", "status", "kind", "title", "subject", "acknowledged_at", "resolved_at"]
        table = Table("Alerts", [*columns, "linked_mentions", "id"], alert_rows(), [14, 5, 8, 7, 30, 16, 14, 14, 6, 0])
        charts = lambda: tally.charts("Alerts detected per day")  # noqa: E731
        title = "Alerts export"
    elif isinstance(query, CampaignMetricsSource):
        table, charts = _campaign_table(query, tally)
        title = "Campaign metrics export"
    else:
        table, charts, title = _audit_table(query, tally), lambda: tally.charts("Audit entries per day"), "Audit log"
    return ExportContent(
        name=query.kind.replace("_", "-"),
        title=title,
        subtitle=subtitle,
        facts=[("Source", query.kind), *((k, str(v)) for k, v in filters.items())],
        tables=[table],
        charts=charts,
        kind=query.kind,
        filters=filters,
        row_count=lambda: tally.rows,
    )


def _campaign_table(query: CampaignMetricsSource, tally: DailyTally) -> tuple[Table, Callable[[], list[Chart]]]:
    period = DateRangeQuery.model_validate({"from": query.from_, "to": query.to})
    spend: dict[str, dict[str, float]] = {}

    def rows() -> Iterator[list[Any]]:
        if query.campaign_id is not None:
            metrics = campaign_metrics(str(query.campaign_id), MetricsQuery.model_validate(period.model_dump()))
            series = [("campaign", point.start, point) for point in CampaignMetrics.model_validate(metrics).points]
        else:
            series = []
            for platform in [query.platform] if query.platform else ["google_ads", "meta"]:
                insights = account_insights(platform, period)
                insights = insights if isinstance(insights, InsightsOut) else InsightsOut.model_validate(insights)
                series += [(platform, row.date, row) for row in insights.rows]
            series.sort(key=lambda item: (item[1], item[0]))
        for name, day, point in series:
            tally.rows += 1
            spend.setdefault(name, {})[day.isoformat()] = float(point.spend)
            yield [day, name, point.impressions, point.clicks, point.spend, point.conversions, point.ctr, point.cpc]

    def charts() -> list[Chart]:
        days = sorted({day for by_day in spend.values() for day in by_day})
        return [Chart("Spend per day", days, {n: [by.get(d) for d in days] for n, by in sorted(spend.items())})]

    columns = ["date", "platform", "impressions", "clicks", "spend", "conversions", "ctr", "cpc"]
    return Table("Campaign metrics", columns, rows()), charts


def _audit_table(query: AuditLogSource, tally: DailyTally) -> Table:
    def rows() -> Iterator[list[Any]]:
        for entry in _paged_rows(query):
            tally.add(entry.timestamp)
            yield [
                entry.seq,
                entry.timestamp,
                entry.user_id,
                entry.action,
                entry.resource_type,
                entry.resource_id,
                entry.ip_address,
                entry.details,
            ]

    columns = ["seq", "timestamp", "user_id", "action", "resource_type", "resource_id", "ip_address", "details"]
    return Table("Audit entries", columns, rows(), [5, 14, 0, 14, 9, 14, 9, 35])


# ---------------------------------------------------------------------------------------------- reports


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _num(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:+.3f}" if -1 <= value <= 1 else f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _sentiment_facts(t: Any) -> list[tuple[str, str]]:
    return [
        ("Mentions", _num(t.mentions)),
        ("Average sentiment", _num(t.avg_sentiment)),
        ("Positive / neutral / negative", f"{t.positive:,} / {t.neutral:,} / {t.negative:,}"),
        ("Strongly negative", _num(t.strongly_negative)),
        ("Negative share", _pct(t.negative_share)),
        ("Reach", _num(t.reach)),
    ]


def _digest_rows(items: list[Any]) -> list[list[Any]]:
    return [[m.published_at, m.source, m.author, m.sentiment_score, m.reach, m.content] for m in items]


def _report_content(report: Any) -> ExportContent:
    data, kind = report.generated_data, report.type
    subtitle = f"{kind.replace('_', ' ').capitalize()} - generated {cell_text(report.generated_at)}"
    facts: list[tuple[str, str]] = [("Report", str(report.id)), ("Type", kind)]
    facts += [(k, str(v)) for k, v in report.parameters.model_dump(mode="json", by_alias=True).items() if v is not None]
    tables: list[Table] = []
    charts: list[Chart] = []
    if kind == "sentiment_summary":
        facts += [("Period", f"{cell_text(data.period.start)} to {cell_text(data.period.end)}")]
        facts += _sentiment_facts(data.totals)
        labels = [cell_text(p.bucket)[: 10 if data.interval == "day" else 16] for p in data.series]
        charts = [
            Chart(
                f"Mentions per {data.interval}", labels, {"mentions": [float(p.mentions) for p in data.series]}, "bar"
            ),
            Chart("Average sentiment", labels, {"average": [p.avg_sentiment for p in data.series]}),
        ]
        series_columns = ["bucket", "mentions", "avg_sentiment", "positive", "negative", "strongly_negative"]
        tables = [
            Table(
                "Series",
                series_columns,
                [
                    [p.bucket, p.mentions, p.avg_sentiment, p.positive, p.negative, p.strongly_negative]
                    for p in data.series
                ],
            ),
            Table(
                "By source",
                ["source", "mentions", "avg_sentiment", "negative_share"],
                [[s.source, s.mentions, s.avg_sentiment, s.negative_share] for s in data.by_source],
            ),
            Table(
                "Top topics",
                ["topic", "mentions", "avg_sentiment"],
                [[t.topic, t.mentions, t.avg_sentiment] for t in data.top_topics],
            ),
        ]
    elif kind == "crisis_log":
        facts += [
            ("Period", f"{cell_text(data.period.start)} to {cell_text(data.period.end)}"),
            ("Alerts", str(data.total)),
        ]
        facts += [(f"Status: {k}", str(v)) for k, v in sorted(data.by_status.items())]
        facts += [(f"Kind: {k}", str(v)) for k, v in sorted(data.by_kind.items())]
        charts = [
            Chart(
                "Alerts detected per day",
                list(data.by_day),
                {"alerts": [float(v) for v in data.by_day.values()]},
                "bar",
            )
        ]
        tables = [
            Table(
                "Alerts",
                [
                    "detected_at",
                    "severity",
                    "status",
                    "kind",
                    "title",
                    "subject",
                    "resolved_at",
                    "minutes_open",
                    "mentions",
                ],
                [
                    [
                        e.detected_at,
                        e.severity,
                        e.status,
                        e.kind,
                        e.title,
                        e.subject,
                        e.resolved_at,
                        e.minutes_open,
                        e.linked_mentions,
                    ]
                    for e in data.entries
                ],
                [14, 5, 8, 7, 28, 16, 14, 6, 6],
            ),
            Table(
                "Timeline",
                ["alert", "change", "status", "severity", "changed_at", "note"],
                [
                    [e.title, t.change, t.status, t.severity, t.changed_at, t.note]
                    for e in data.entries
                    for t in e.timeline
                ],
                [26, 9, 9, 6, 14, 30],
            ),
        ]
    elif kind == "campaign_performance":
        overall = data.summary.overall
        facts += [("Period", f"{data.period_from} to {data.period_to}")]
        facts += [
            (name, _num(cell_text(getattr(overall, name))))
            for name in ("spend", "impressions", "clicks", "conversions", "ctr", "cpc", "cpa")
        ]
        days = sorted({d.date.isoformat() for d in data.daily})
        spend: dict[str, dict[str, float]] = {}
        for d in data.daily:
            spend.setdefault(d.platform, {})[d.date.isoformat()] = float(d.spend)
        charts = [Chart("Spend per day", days, {p: [by.get(day) for day in days] for p, by in sorted(spend.items())})]
        tables = [
            Table(
                "By platform",
                ["platform", "campaigns", "impressions", "clicks", "spend", "conversions", "ctr", "cpc", "cpa"],
                [
                    [p.platform, p.campaigns, p.impressions, p.clicks, p.spend, p.conversions, p.ctr, p.cpc, p.cpa]
                    for p in data.summary.platforms
                ],
            ),
            Table(
                "Top campaigns by spend",
                ["rank", "campaign", "platform", "spend", "impressions", "clicks", "conversions", "cpa"],
                [
                    [
                        t.rank,
                        t.campaign.name,
                        t.campaign.platform,
                        t.totals.spend,
                        t.totals.impressions,
                        t.totals.clicks,
                        t.totals.conversions,
                        t.totals.cpa,
                    ]
                    for t in data.top_by_spend
                ],
                [5, 35, 9, 10, 10, 8, 9, 8],
            ),
            Table(
                "Daily",
                ["date", "platform", "impressions", "clicks", "spend", "conversions"],
                [[d.date, d.platform, d.impressions, d.clicks, d.spend, d.conversions] for d in data.daily],
            ),
        ]
    elif kind == "mentions_digest":
        facts += [("Period", f"{cell_text(data.period.start)} to {cell_text(data.period.end)}")]
        facts += _sentiment_facts(data.totals)
        t = data.totals
        charts = [
            Chart(
                "Sentiment bands",
                ["positive", "neutral", "negative", "strongly negative"],
                {"mentions": [float(t.positive), float(t.neutral), float(t.negative), float(t.strongly_negative)]},
                "bar",
            )
        ]
        columns = ["published_at", "source", "author", "sentiment", "reach", "content"]
        widths = [14, 8, 14, 7, 7, 50]
        tables = [
            Table("Widest reach", columns, _digest_rows(data.top_by_reach), widths),
            Table("Most negative", columns, _digest_rows(data.most_negative), widths),
            Table("Latest", columns, _digest_rows(data.latest), widths),
        ]
    else:
        m = data.mentions
        facts += [
            ("Headline", data.headline),
            ("Mentions", _num(m.mentions)),
            ("Change on the day before", "-" if m.mentions_change_pct is None else f"{m.mentions_change_pct:+.1f}%"),
            ("Average sentiment", _num(m.avg_sentiment)),
            ("Crises open now", str(data.crises.open_now)),
        ]
        charts = [
            Chart(
                "Top topics",
                [t.topic for t in data.top_topics],
                {"mentions": [float(t.mentions) for t in data.top_topics]},
                "bar",
            )
        ]
        tables = [
            Table("Narrative", ["paragraph"], [[p] for p in data.narrative.split("\n\n")]),
            Table("Highlights", ["highlight"], [[h] for h in data.highlights]),
            Table("Recommendations", ["recommendation"], [[r] for r in data.recommendations]),
            Table(
                "Top topics",
                ["topic", "mentions", "previous_day", "avg_sentiment"],
                [[t.topic, t.mentions, t.mentions_previous_day, t.avg_sentiment] for t in data.top_topics],
            ),
            Table(
                "Rising keywords",
                ["term", "mentions", "baseline_expected", "growth"],
                [[k.term, k.mentions, k.baseline_expected, k.growth] for k in data.trending_keywords],
            ),
            Table(
                "Crises opened",
                ["title", "subject", "severity", "status", "detected_at"],
                [[c.title, c.subject, c.severity, c.status, c.detected_at] for c in data.crises.opened],
            ),
        ]
    rows = sum(len(t.rows) for t in tables)  # type: ignore[arg-type]
    return ExportContent(
        name=f"report-{kind.replace('_', '-')}",
        title=report.title,
        subtitle=subtitle,
        facts=facts,
        tables=tables,
        charts=lambda: charts,
        document=report,
        row_count=lambda: rows,
    )


@contextlib.contextmanager
def export_content(body: ExportBody, principal: Principal) -> Iterator[ExportContent]:
    """The content of an export (a report by id, 404 if unknown; or a query, the audit log for admins only).

    A query's rows are read while the caller writes them, inside this context (its connection stays open).
    """
    if isinstance(body.query, AuditLogSource) and principal.role != "admin":
        raise Forbidden("Only admins may export the audit log.")
    with contextlib.ExitStack() as stack:
        if body.report_id is not None:
            yield _report_content(get_report(str(body.report_id)).root)
        else:
            yield _query_content(body.query, stack)
