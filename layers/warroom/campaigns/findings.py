"""What is wrong with paid media right now: the findings that campaign alerts are opened from.

Example
-------
>>> with connection() as conn:
...     findings = campaign_findings(conn, now)
>>> findings[0].reason, findings[0].severity, findings[0].title
('overspend', 7, 'Overspending: GOTV | Early Vote | PA (Meta) at 131.2 % of pace')

Reasons, each evaluated on every sync for running campaigns (status ``ACTIVE`` on Meta, ``ENABLED`` on Google):

* ``overspend`` / ``underspend``: pacing beyond the thresholds (:mod:`.pacing`);
* ``delivery_stopped``: no impressions on the last complete day (UTC) of a campaign that delivered in the week
  before and was in flight all that day;
* ``delivery_issue``: the platform says the campaign cannot deliver (``DISAPPROVED``, ``WITH_ISSUES``);
* ``cost_spike``: the last complete day's CPC (or CPA) at least ``campaign_cost_spike_factor`` times the median of
  the campaign's previous 14 days, with enough clicks (conversions) on both sides to mean something.

This module only reads; :mod:`warroom.crisis.campaign_alerts` turns findings into alerts.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import psycopg

from warroom.campaigns.pacing import pacing_items
from warroom.campaigns.settings import COST_SPIKE_FACTOR
from warroom.core.settings import read_settings

Reason = Literal["overspend", "underspend", "delivery_stopped", "delivery_issue", "cost_spike"]
PLATFORM_LABELS = {"meta": "Meta", "google_ads": "Google Ads"}
ISSUE_STATUSES = {"DISAPPROVED": 8, "WITH_ISSUES": 6}
RUNNING_STATUSES = ("ACTIVE", "ENABLED")
HISTORY_DAYS = 14
MIN_HISTORY_DAYS = 7
MIN_CLICKS, MIN_CONVERSIONS = 20, 5
_FOUR_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class CampaignFinding:
    campaign_id: str
    reason: Reason
    severity: int
    title: str
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def subject_value(self) -> str:
        return f"{self.campaign_id}:{self.reason}"


def _label(campaign: Any) -> str:
    return f"{campaign.name} ({PLATFORM_LABELS.get(campaign.platform, campaign.platform)})"


def _pacing_findings(conn: psycopg.Connection, now: dt.datetime) -> list[CampaignFinding]:
    findings = []
    for item in pacing_items(conn, now):
        campaign = item.campaign
        if campaign.status not in RUNNING_STATUSES or item.status not in ("over", "under") or item.pacing_pct is None:
            continue
        evidence = {
            "platform": campaign.platform,
            "external_id": campaign.external_id,
            "campaign_name": campaign.name,
            "pacing_pct": str(item.pacing_pct),
            "budget": str(item.budget),
            "spend_to_date": str(item.spend_to_date),
            "expected_to_date": str(item.expected_to_date),
            "flight": [item.flight_start.isoformat(), item.flight_end.isoformat()],
        }
        if item.status == "over":
            severity = 8 if item.pacing_pct >= 150 else 7
            title = f"Overspending: {_label(campaign)} at {item.pacing_pct} % of pace"
            findings.append(CampaignFinding(str(campaign.id), "overspend", severity, title, evidence))
        else:
            severity = 6 if item.pacing_pct <= 50 else 5
            title = f"Underspending: {_label(campaign)} at {item.pacing_pct} % of pace"
            findings.append(CampaignFinding(str(campaign.id), "underspend", severity, title, evidence))
        evidence["description"] = (
            f"Spent {item.spend_to_date} of {item.budget} with {item.elapsed_share * 100:.1f} % of the flight gone "
            f"(expected {item.expected_to_date})."
        )
    return findings


def _median_cost(days: list[dict[str, Any]], numerator: str, denominator: str, minimum: int) -> Decimal | None:
    costs = [Decimal(d[numerator]) / Decimal(d[denominator]) for d in days if (d[denominator] or 0) >= minimum]
    return statistics.median(costs) if len(costs) >= MIN_HISTORY_DAYS else None


def _delivery_and_cost_findings(conn: psycopg.Connection, now: dt.datetime, factor: float) -> list[CampaignFinding]:
    last_day = now.astimezone(dt.UTC).date() - dt.timedelta(days=1)
    day_start = dt.datetime.combine(last_day, dt.time(), tzinfo=dt.UTC)
    campaigns = conn.execute(
        "SELECT id, platform, external_id, name, status, effective_status, start_time, stop_time FROM campaigns"
        " WHERE status = ANY(%s)",
        (list(RUNNING_STATUSES),),
    ).fetchall()
    if not campaigns:
        return []
    rows = conn.execute(
        "SELECT campaign_id, day, impressions, clicks, spend, coalesce(conversions, 0) AS conversions"
        " FROM campaign_days WHERE campaign_id = ANY(%s::uuid[]) AND day BETWEEN %s AND %s ORDER BY day",
        ([c["id"] for c in campaigns], last_day - dt.timedelta(days=HISTORY_DAYS), last_day),
    ).fetchall()
    by_campaign: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_campaign[str(row["campaign_id"])].append(row)
    threshold = Decimal(str(factor))
    findings = []
    for c in campaigns:
        campaign_id = str(c["id"])
        label = f"{c['name']} ({PLATFORM_LABELS.get(c['platform'], c['platform'])})"
        evidence: dict[str, Any] = {
            "platform": c["platform"],
            "external_id": c["external_id"],
            "campaign_name": c["name"],
        }
        if c["effective_status"] in ISSUE_STATUSES:
            findings.append(
                CampaignFinding(
                    campaign_id,
                    "delivery_issue",
                    ISSUE_STATUSES[c["effective_status"]],
                    f"Delivery issue: {label} is {c['effective_status']}",
                    {
                        **evidence,
                        "effective_status": c["effective_status"],
                        "description": f"The platform reports {c['effective_status']}: the ads may not deliver.",
                    },
                )
            )
        history = by_campaign.get(campaign_id, [])
        earlier = [d for d in history if d["day"] < last_day]
        latest = next((d for d in history if d["day"] == last_day), None)
        in_flight = (c["start_time"] is None or c["start_time"] <= day_start) and (
            c["stop_time"] is None or c["stop_time"] >= day_start + dt.timedelta(days=1)
        )
        delivered_before = any(d["impressions"] > 0 for d in earlier[-7:])
        if in_flight and delivered_before and (latest is None or latest["impressions"] == 0):
            findings.append(
                CampaignFinding(
                    campaign_id,
                    "delivery_stopped",
                    8,
                    f"Delivery stopped: {label} had no impressions on {last_day.isoformat()}",
                    {
                        **evidence,
                        "day": last_day.isoformat(),
                        "description": "The campaign is active and in flight but delivered nothing that day.",
                    },
                )
            )
            continue
        if latest is None:
            continue
        for metric, numerator, denominator, minimum in (
            ("cpc", "spend", "clicks", MIN_CLICKS),
            ("cpa", "spend", "conversions", MIN_CONVERSIONS),
        ):
            median = _median_cost(earlier, numerator, denominator, minimum)
            if median is None or not median or (latest[denominator] or 0) < minimum:
                continue
            cost = Decimal(latest[numerator]) / Decimal(latest[denominator])
            if cost >= median * threshold:
                ratio = (cost / median).quantize(Decimal("0.01"))
                findings.append(
                    CampaignFinding(
                        campaign_id,
                        "cost_spike",
                        6,
                        f"Cost spike: {label} {metric.upper()} {cost:.2f} on {last_day.isoformat()}, {ratio}x usual",
                        {
                            **evidence,
                            "metric": metric,
                            "day": last_day.isoformat(),
                            "value": str(cost.quantize(Decimal("0.0001"))),
                            "median": str(median.quantize(Decimal("0.0001"))),
                            "ratio": str(ratio),
                            "description": f"{metric.upper()} {ratio}x the median of the previous {HISTORY_DAYS} days.",
                        },
                    )
                )
                break  # one cost alert per campaign: CPC and CPA usually spike together
    return findings


def campaign_findings(conn: psycopg.Connection, now: dt.datetime) -> list[CampaignFinding]:
    """Every finding at ``now`` (see the module docstring), read in ``conn``."""
    factor = read_settings([COST_SPIKE_FACTOR], conn)[COST_SPIKE_FACTOR.key]
    return _pacing_findings(conn, now) + _delivery_and_cost_findings(conn, now, factor)
