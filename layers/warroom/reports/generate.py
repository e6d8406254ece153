"""Building each report type's data from what is stored, through the other domains' public functions.

Example
-------
>>> title, data = build_report("sentiment_summary", SentimentSummaryParams(interval="day"), now=now)
>>> data.totals.mentions

Sources: mention figures from the rollups (``warroom.mentions.rollups.window_totals``) and the sentiment series
(``warroom.mentions.queries.sentiment_series``), a digest's mentions from ``stream_mention_rows`` /
``mention_totals``; crises from the Alert Center (``warroom.crisis.alerts.list_alerts`` / ``alert_detail``);
campaigns from ``warroom.campaigns.queries`` (``summary``, ``top``, ``account_insights``); the daily brief from
``warroom.intelligence.briefing.build_brief``. Nothing here reads another domain's tables.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from pydantic import BaseModel, ValidationError

from warroom.campaigns.models import DateRangeQuery, InsightsOut, SummaryOut, TopOut, TopQuery
from warroom.campaigns.queries import account_insights, resolve_period, summary, top
from warroom.core.db import connection
from warroom.core.errors import ValidationFailed
from warroom.crisis.alerts import alert_detail, list_alerts
from warroom.crisis.models import AlertListQuery
from warroom.intelligence.briefing import build_brief, campaign_timezone
from warroom.mentions.models import SentimentQuery
from warroom.mentions.queries import mention_totals, sentiment_series, stream_mention_rows
from warroom.mentions.rollups import Totals, window_totals
from warroom.reports.models import (
    CampaignPerformanceData,
    CampaignPerformanceParams,
    CrisisLogData,
    CrisisLogEntry,
    CrisisLogParams,
    DailyBriefParams,
    DailySpend,
    DigestMention,
    MentionsDigestData,
    MentionsDigestParams,
    Period,
    SentimentSummaryData,
    SentimentSummaryParams,
    SentimentTotals,
    SourceFigures,
    TopicFigures,
)

TOP_TOPICS = 10
# A crisis log lists at most this many alerts with their timelines (the counts cover every match).
CRISIS_LOG_ENTRIES = 200
CRISIS_LOG_SCAN = 10_000
DIGEST_CONTENT_CHARS = 500
_LABELS = {
    "sentiment_summary": "Sentiment summary",
    "crisis_log": "Crisis log",
    "campaign_performance": "Campaign performance",
    "mentions_digest": "Mentions digest",
    "daily_brief": "Daily brief",
}


def _sentiment_totals(totals: Totals | dict[str, Any]) -> SentimentTotals:
    t = totals if isinstance(totals, Totals) else Totals.of(totals)
    return SentimentTotals(
        mentions=t.mentions,
        scored=t.sentiment_count,
        avg_sentiment=t.avg_sentiment,
        positive=t.positive,
        neutral=max(t.sentiment_count - t.positive - t.negative, 0),
        negative=t.negative,
        strongly_negative=t.strongly_negative,
        negative_share=round(t.negative / t.mentions, 4) if t.mentions else None,
        reach=t.reach,
    )


def _day_text(moment: dt.datetime | dt.date) -> str:
    return moment.strftime("%Y-%m-%d")


def sentiment_summary(params: SentimentSummaryParams, now: dt.datetime) -> tuple[str, SentimentSummaryData]:
    start, end = params.window(now)
    series = sentiment_series(
        _query(SentimentQuery, {"from": start, "to": end, "interval": params.interval, "source": params.source})
    )
    with connection() as conn:
        sources = window_totals(conn, "source", start, end)
        topics = window_totals(conn, "topic", start, end)
        if params.source:
            overall = sources.get(params.source, Totals())
        else:
            overall = window_totals(conn, "all", start, end).get("", Totals())
    by_source = [
        SourceFigures(
            source=name,
            mentions=t.mentions,
            avg_sentiment=t.avg_sentiment,
            negative_share=round(t.negative / t.mentions, 4) if t.mentions else None,
        )
        for name, t in sorted(sources.items(), key=lambda item: (-item[1].mentions, item[0]))
        if not params.source or name == params.source
    ]
    top_topics = [
        TopicFigures(topic=name, mentions=t.mentions, avg_sentiment=t.avg_sentiment)
        for name, t in sorted(topics.items(), key=lambda item: (-item[1].mentions, item[0]))[:TOP_TOPICS]
    ]
    data = SentimentSummaryData(
        period=Period(start=start, end=end),
        interval=params.interval,
        source=params.source,
        totals=_sentiment_totals(overall),
        series=series["series"],
        by_source=by_source,
        top_topics=top_topics,
    )
    channel = f" ({params.source})" if params.source else ""
    return f"Sentiment summary{channel}, {_day_text(start)} to {_day_text(end)}", data


def _subject(alert: Any) -> str | None:
    if alert.subject is None:
        return None
    return "all mentions" if alert.subject.dimension == "all" else f"{alert.subject.dimension}: {alert.subject.value}"


def crisis_log(params: CrisisLogParams, now: dt.datetime) -> tuple[str, CrisisLogData]:
    start, end = params.window(now)
    query: dict[str, Any] = {"from": start, "to": end, "limit": 200, "status": params.status}
    if params.severity_min is not None:
        query["severity_min"] = params.severity_min
    alerts, cursor = [], None
    while len(alerts) < CRISIS_LOG_SCAN:
        page = list_alerts(_query(AlertListQuery, {**query, "cursor": cursor}))
        alerts.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    entries = []
    for alert in alerts[:CRISIS_LOG_ENTRIES]:
        detail = alert_detail(str(alert.id))
        minutes = round((detail.resolved_at - detail.detected_at).total_seconds() / 60) if detail.resolved_at else None
        entries.append(
            CrisisLogEntry(
                id=detail.id,
                kind=detail.kind,
                status=detail.status,
                severity=detail.severity,
                title=detail.title,
                subject=_subject(detail),
                detected_at=detail.detected_at,
                acknowledged_at=detail.acknowledged_at,
                resolved_at=detail.resolved_at,
                minutes_open=minutes,
                linked_mentions=detail.linked_mentions,
                timeline=detail.timeline,
            )
        )
    data = CrisisLogData(
        period=Period(start=start, end=end),
        total=len(alerts),
        by_status=dict(Counter(a.status for a in alerts)),
        by_kind=dict(Counter(a.kind for a in alerts)),
        by_day=dict(sorted(Counter(_day_text(a.detected_at.astimezone(dt.UTC)) for a in alerts).items())),
        entries=entries,
        truncated=len(alerts) > len(entries),
    )
    return f"Crisis log, {_day_text(start)} to {_day_text(end)}", data


def _query(model: type[BaseModel], values: dict[str, Any]) -> Any:
    """Another domain's query model built from the parameters and the defaults derived from them (a 30-day
    default before a `to` of 1970 is out of range): what it refuses is the parameters' fault, a 422."""
    try:
        return model.model_validate(values)
    except ValidationError as error:
        details = [
            {"loc": ["body", "parameters", *map(str, e["loc"])], "msg": e["msg"], "type": e["type"]}
            for e in error.errors(include_url=False, include_context=False, include_input=False)
        ]
        raise ValidationFailed("The report's parameters give an invalid period or query.", details=details) from error


def _as(model: type[BaseModel], value: Any) -> Any:
    """Campaign answers come as the model, or as the cached JSON of it."""
    return value if isinstance(value, model) else model.model_validate(value)


def campaign_performance(params: CampaignPerformanceParams, now: dt.datetime) -> tuple[str, CampaignPerformanceData]:
    period = _query(DateRangeQuery, {"from": params.from_, "to": params.to})
    since, until = resolve_period(period, today=now.date())
    period = _query(DateRangeQuery, {"from": since, "to": until})
    totals = _as(SummaryOut, summary(period))
    if params.platform:
        totals.platforms = [p for p in totals.platforms if p.platform == params.platform]
    ranking = _as(
        TopOut,
        top(_query(TopQuery, {"from": since, "to": until, "limit": params.top, "platform": params.platform})),
    )
    daily = []
    for platform in [params.platform] if params.platform else ["google_ads", "meta"]:
        insights = _as(InsightsOut, account_insights(platform, period))
        daily += [
            DailySpend(
                date=row.date,
                platform=platform,
                impressions=row.impressions,
                clicks=row.clicks,
                spend=row.spend,
                conversions=row.conversions,
            )
            for row in insights.rows
        ]
    daily.sort(key=lambda d: (d.date, d.platform))
    data = CampaignPerformanceData(
        period_from=since,
        period_to=until,
        platform=params.platform,
        summary=totals,
        top_by_spend=ranking.items,
        daily=daily,
    )
    which = f" ({params.platform})" if params.platform else ""
    return f"Campaign performance{which}, {since} to {until}", data


def _digest_mention(row: dict[str, Any]) -> DigestMention:
    return DigestMention(
        id=row["id"],
        published_at=row["published_at"],
        source=row["source"],
        author=row["author_name"] or row["author_handle"],
        content=(row["content"] or "")[:DIGEST_CONTENT_CHARS],
        sentiment_score=float(row["sentiment_score"]) if row["sentiment_score"] is not None else None,
        reach=row["reach"] or 0,
        url=row["url"],
    )


class _DigestFilters:
    """The digest's parameters as the mention filters ``warroom.mentions.queries`` reads."""

    def __init__(self, params: MentionsDigestParams, start: dt.datetime, end: dt.datetime):
        self.from_, self.to = start, end
        self.source, self.topic, self.q = params.source, params.topic, params.q
        self.sentiment_min, self.sentiment_max = None, params.sentiment_max
        self.crisis_id = self.country = None


def mentions_digest(params: MentionsDigestParams, now: dt.datetime) -> tuple[str, MentionsDigestData]:
    start, end = params.window(now, dt.timedelta(days=1))
    filters = _DigestFilters(params, start, end)
    with connection() as conn, conn.transaction():
        totals = mention_totals(conn, filters)
        lists = {
            order: [_digest_mention(row) for row in stream_mention_rows(conn, filters, order=order, limit=params.limit)]
            for order in ("reach", "negative", "newest")
        }
    data = MentionsDigestData(
        period=Period(start=start, end=end),
        filters=params.model_dump(mode="json", by_alias=True, exclude_none=True, exclude={"from_", "to", "limit"}),
        totals=_sentiment_totals(totals),
        top_by_reach=lists["reach"],
        most_negative=lists["negative"],
        latest=lists["newest"],
    )
    return f"Mentions digest, {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC", data


def daily_brief(params: DailyBriefParams, now: dt.datetime) -> tuple[str, BaseModel]:
    tz = campaign_timezone()
    day = params.date or now.astimezone(tz).date()
    brief = build_brief(day, now=now, tz=tz)
    return f"Daily brief, {day}: {brief.headline}"[:300], brief


BUILDERS = {
    "sentiment_summary": sentiment_summary,
    "crisis_log": crisis_log,
    "campaign_performance": campaign_performance,
    "mentions_digest": mentions_digest,
    "daily_brief": daily_brief,
}


def build_report(report_type: str, params: BaseModel, *, now: dt.datetime | None = None) -> tuple[str, BaseModel]:
    """(default title, data model) of a report of ``report_type`` with ``params``, from the stored data now."""
    return BUILDERS[report_type](params, now or dt.datetime.now(dt.UTC))  # type: ignore[operator]


def type_label(report_type: str) -> str:
    return _LABELS[report_type]
