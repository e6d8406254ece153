"""Crisis detection against storage: rollups in, ``crisis_events`` out (the detector itself is pure).

Example
-------
>>> detect_crises(window_start=result.window_start, trigger="ingest")   # after an ingest
>>> detect_crises(trigger="schedule")                                   # every 5 minutes

One run, in one transaction under an advisory lock (two containers never judge the same evidence twice):

1. **Subjects**: on ingest, the subjects (``all``, ``source``, ``topic``, ``keyword``) with mentions in the new
   window; on the schedule, those with mentions in the last :data:`SCHEDULE_LOOKBACK` -- in both cases only
   subjects with enough mentions to meet the detector's minimum volume (the others cannot alarm).
2. **Series**: their per-minute rollups over the detector's history, summed into the detector's bucket
   width by PostgreSQL (``date_bin`` over the rollups' primary key), zeros filled by ``densify``.
3. **Findings** of :func:`warroom.crisis.detector.detect` whose episode ends after the evaluated window
   starts, and ended no longer ago than the auto-resolve period (a sync that catches up on an old,
   finished burst does not raise an alarm for it).
4. **Crises**, most specific subject first: update the subject's open crisis, or respect its cooldown,
   or fold the finding into another open crisis that already owns most of its mentions, or open one.
   The window's mentions are linked through ``crisis_event_id``; each change is a timeline row and an
   audit record.
5. **Auto-resolve**: open detected crises with no evidence for ``crisis_auto_resolve_minutes``.

After the commit: ``crisis:detected`` / ``crisis:updated`` / ``crisis:resolved`` are broadcast and alert
emails sent. Nothing here calls OpenAI, and email or broadcast failures never undo a detection.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any, Literal

import psycopg
from psycopg.types.json import Jsonb

from warroom.audit import record_audit, set_actor
from warroom.core.db import connection
from warroom.crisis import notify
from warroom.crisis.detector import DEFAULT_PARAMS, DetectorParams, Finding, densify, detect
from warroom.crisis.settings import read_crisis_settings
from warroom.crisis.store import record_change
from warroom.mentions.rollups import busiest_subjects, subject_series
from warroom.mentions.subjects import count_window_mentions, link_window_to_crisis

logger = logging.getLogger(__name__)

Trigger = Literal["ingest", "schedule", "simulation"]
SUBJECT_DIMENSIONS = ("topic", "keyword", "source", "all")  # most specific first: the order findings are handled
SCHEDULE_LOOKBACK = dt.timedelta(minutes=15)
MAX_SUBJECTS = 300
SAMPLE_MENTIONS = 5
# Any constant shared by all containers: the lock serialises detection runs, not ingests.
_LOCK_KEY = 0x0C5155


@dataclass
class DetectionOutcome:
    """What one run did; ``elapsed_ms`` is the whole run, ``detector_ms`` the pure detector's share."""

    trigger: Trigger
    subjects: int = 0
    findings: int = 0
    opened: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    related: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    elapsed_ms: float = 0.0
    detector_ms: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "trigger": self.trigger,
            "subjects": self.subjects,
            "findings": self.findings,
            "opened": self.opened,
            "updated": self.updated,
            "related": self.related,
            "resolved": self.resolved,
            "elapsed_ms": round(self.elapsed_ms, 2),
            "detector_ms": round(self.detector_ms, 2),
        }


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _align(moment: dt.datetime, width: dt.timedelta) -> dt.datetime:
    seconds = int(width.total_seconds())
    epoch = int(moment.timestamp())
    return dt.datetime.fromtimestamp(epoch - epoch % seconds, dt.UTC)


def evidence_window(finding: Finding, params: DetectorParams) -> Finding:
    """The finding widened to the mentions its first alarm judged: an alarm at a bucket weighs the whole
    window that ends with it, so a burst that has just ended still alarms on the (quiet) next bucket."""
    lead = dt.timedelta(minutes=params.window_minutes - params.bucket_minutes)
    return dataclasses.replace(finding, start=finding.start - lead) if lead > dt.timedelta(0) else finding


@dataclass(frozen=True)
class _Claim:
    """An open crisis's subject: mentions counting under it are that crisis's evidence."""

    dimension: str
    value: str
    crisis_id: str | None  # None: a subject in cooldown (its evidence opens nothing)


def _open_claims(conn: psycopg.Connection) -> list[_Claim]:
    rows = conn.execute(
        "SELECT id, subject_dimension, subject_value FROM crisis_events"
        " WHERE kind = 'detected' AND status <> 'resolved'"
    ).fetchall()
    return [_Claim(r["subject_dimension"], r["subject_value"], str(r["id"])) for r in rows]


def _claimed_by(
    conn: psycopg.Connection, dimension: str, value: str, finding: Finding, claims: list[_Claim]
) -> tuple[float, int, _Claim | None]:
    """The window's mentions of this subject: how many, and how many the best-matching claim explains.

    Any other open subject may explain it -- a topic its channel's surge, a keyword crisis its topic's --
    except the whole campaign: a campaign-wide crisis does not explain away a topic's own."""
    usable = [c for c in claims if c.dimension != "all" and (c.dimension, c.value) != (dimension, value)]
    total, counts = count_window_mentions(
        conn, (dimension, value), [(c.dimension, c.value) for c in usable], finding.start, finding.end
    )
    best = max(range(len(usable)), key=lambda n: counts[n], default=None)
    return total, (counts[best] if best is not None else 0), (usable[best] if best is not None else None)


def subject_label(dimension: str, value: str) -> str:
    return {
        "all": "the campaign",
        "source": f"{value} (channel)",
        "topic": f"topic '{value}'",
        "keyword": f"keyword '{value}'",
    }[dimension]


def _title(dimension: str, value: str, finding: Finding) -> str:
    what = "Negative surge about" if finding.rule == "burst" else "Strongly negative mentions about"
    return f"{what} {subject_label(dimension, value)}"


def _trigger(dimension: str, value: str, finding: Finding, samples: list[str], trigger: Trigger) -> dict[str, Any]:
    return {
        "rule": finding.rule,
        "subject": {"dimension": dimension, "value": value},
        "window": {"start": finding.start.isoformat(), "end": finding.end.isoformat()},
        "peak": finding.peak.isoformat(),
        "baseline": round(finding.baseline, 2),
        "observed": finding.observed,
        "negative": finding.negative,
        "negative_share": round(finding.negative_share, 3),
        "baseline_negative_share": round(finding.baseline_negative_share, 3),
        "strongly_negative": finding.strongly_negative,
        "score": round(finding.score, 3),
        "sample_mention_ids": samples,
        "detected_by": trigger,
    }


def _add_related(conn: psycopg.Connection, owner: str, dimension: str, value: str) -> None:
    conn.execute(
        """
        UPDATE crisis_events SET metadata = jsonb_set(coalesce(metadata, '{}'), '{related_subjects}',
               (SELECT coalesce(jsonb_agg(DISTINCT e), '[]') FROM jsonb_array_elements(
                    coalesce(metadata -> 'related_subjects', '[]') || jsonb_build_array(%s::jsonb)) AS e))
        WHERE id = %s AND status <> 'resolved'
        """,
        (Jsonb({"dimension": dimension, "value": value}), owner),
    )


def _link_mentions(conn: psycopg.Connection, crisis_id: str, dimension: str, value: str, finding: Finding) -> list[str]:
    """Link the window's unlinked mentions to the crisis; answers a sample: the most negative, widest reach."""
    return link_window_to_crisis(conn, crisis_id, (dimension, value), finding.start, finding.end, SAMPLE_MENTIONS)


def _apply_finding(
    conn: psycopg.Connection,
    dimension: str,
    value: str,
    finding: Finding,
    now: dt.datetime,
    settings: dict[str, int],
    trigger: Trigger,
    outcome: DetectionOutcome,
    events: list[notify.Change],
    params: DetectorParams,
    claims: list[_Claim],
) -> None:
    open_row = conn.execute(
        "SELECT id, severity, status FROM crisis_events WHERE kind = 'detected' AND subject_dimension = %s"
        " AND subject_value = %s AND status <> 'resolved' FOR UPDATE",
        (dimension, value),
    ).fetchone()
    if open_row is not None:
        crisis_id = str(open_row["id"])
        samples = _link_mentions(conn, crisis_id, dimension, value, finding)
        severity = max(open_row["severity"], finding.severity)
        conn.execute(
            """
            UPDATE crisis_events SET severity = %s, metadata = metadata || %s, updated_at = %s,
                   last_evidence_at = greatest(last_evidence_at, %s)
            WHERE id = %s
            """,
            (
                severity,
                Jsonb(_trigger(dimension, value, finding, samples, trigger)),
                now,
                min(finding.end, now),
                crisis_id,
            ),
        )
        if severity > open_row["severity"]:
            record_change(
                conn,
                crisis_id,
                "updated",
                open_row["status"],
                severity,
                f"severity {open_row['severity']} -> {severity}",
            )
            record_audit(conn, "crisis.updated", "crisis_event", crisis_id, {"severity": severity}, None)
            events.append(("crisis:updated", crisis_id, open_row["severity"]))
        if crisis_id not in outcome.updated:
            outcome.updated.append(crisis_id)
        return
    # Cooling down: a crisis resolved lately on this subject, or one that had folded this subject in.
    cooling = conn.execute(
        """
        SELECT 1 FROM crisis_events
        WHERE kind = 'detected' AND resolved_at > %s
          AND ((subject_dimension = %s AND subject_value = %s) OR metadata -> 'related_subjects' @> %s)
        LIMIT 1
        """,
        (
            now - dt.timedelta(minutes=settings["crisis_cooldown_minutes"]),
            dimension,
            value,
            Jsonb([{"dimension": dimension, "value": value}]),
        ),
    ).fetchone()
    if cooling:
        claims.append(_Claim(dimension, value, None))
        return
    # Explained already: mentions of an open crisis's (or a cooling) subject make up at least half of this
    # subject's excess over its baseline -- the same burst seen from further away (a topic's channel, the campaign).
    total, claimed, claim = _claimed_by(conn, dimension, value, finding, claims)
    expected = finding.baseline * (finding.end - finding.start) / dt.timedelta(minutes=params.window_minutes)
    if claim is not None and claimed >= max(total - expected, 1.0) / 2:
        if claim.crisis_id is not None:
            _add_related(conn, claim.crisis_id, dimension, value)
        outcome.related.append(f"{dimension}:{value}")
        return
    row = conn.execute(
        """
        INSERT INTO crisis_events (kind, subject_dimension, subject_value, title, severity, status, detected_at,
                                   updated_at, last_evidence_at, metadata)
        VALUES ('detected', %s, %s, %s, %s, 'active', %s, %s, %s, %s)
        ON CONFLICT (subject_dimension, subject_value) WHERE status <> 'resolved' AND kind = 'detected' DO NOTHING
        RETURNING id
        """,
        (
            dimension,
            value,
            _title(dimension, value, finding),
            finding.severity,
            now,
            now,
            min(finding.end, now),
            Jsonb({}),
        ),
    ).fetchone()
    if row is None:  # opened by a run that did not hold the lock (cannot happen under the lock; kept honest)
        return
    crisis_id = str(row["id"])
    samples = _link_mentions(conn, crisis_id, dimension, value, finding)
    trigger_data = _trigger(dimension, value, finding, samples, trigger)
    conn.execute("UPDATE crisis_events SET metadata = %s WHERE id = %s", (Jsonb(trigger_data), crisis_id))
    record_change(
        conn, crisis_id, "detected", "active", finding.severity, f"{finding.rule} on {subject_label(dimension, value)}"
    )
    record_audit(conn, "crisis.detected", "crisis_event", crisis_id, trigger_data, None)
    claims.append(_Claim(dimension, value, crisis_id))
    outcome.opened.append(crisis_id)
    events.append(("crisis:detected", crisis_id, None))


def _auto_resolve(conn: psycopg.Connection, now: dt.datetime, settings: dict[str, int]) -> list[str]:
    quiet_since = now - dt.timedelta(minutes=settings["crisis_auto_resolve_minutes"])
    rows = conn.execute(
        """
        UPDATE crisis_events SET status = 'resolved', resolved_at = %s, updated_at = %s
        WHERE kind = 'detected' AND status <> 'resolved' AND coalesce(last_evidence_at, detected_at) < %s
        RETURNING id, severity
        """,
        (now, now, quiet_since),
    ).fetchall()
    note = f"no new evidence for {settings['crisis_auto_resolve_minutes']} minutes"
    for row in rows:
        record_change(conn, str(row["id"]), "resolved", "resolved", row["severity"], f"auto: {note}")
        record_audit(conn, "crisis.auto_resolved", "crisis_event", str(row["id"]), {"reason": note}, None)
    return [str(row["id"]) for row in rows]


def detect_crises(
    now: dt.datetime | None = None,
    *,
    window_start: dt.datetime | None = None,
    trigger: Trigger = "schedule",
    params: DetectorParams = DEFAULT_PARAMS,
) -> DetectionOutcome:
    """One detection run (see the module docstring); ``window_start`` limits it to what an ingest touched."""
    started = time.perf_counter()
    now = now or _now()
    outcome = DetectionOutcome(trigger)
    width = dt.timedelta(minutes=params.bucket_minutes)
    series_end = _align(now, width) + width  # the current (partial) bucket included
    since = _align(min(window_start, now), width) if window_start is not None else now - SCHEDULE_LOOKBACK
    # Every evaluated bucket (from the window's first to the current one) gets its full history.
    history_start = min(_align(since, width), _align(now, width)) - width * params.history_buckets
    events: list[notify.Change] = []
    with connection() as conn:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        set_actor(conn, None)
        settings = read_crisis_settings(conn)
        stale_before = now - dt.timedelta(minutes=settings["crisis_auto_resolve_minutes"])
        subjects = busiest_subjects(
            conn,
            SUBJECT_DIMENSIONS,
            since - dt.timedelta(minutes=params.window_minutes),
            series_end,
            min_mentions=min(params.min_mentions, params.strongly_negative_min),
            limit=MAX_SUBJECTS,
        )
        outcome.subjects = len(subjects)
        findings: list[tuple[str, str, Finding]] = []
        if subjects:
            rows = subject_series(conn, subjects, history_start, series_end, params.bucket_minutes)
            detector_started = time.perf_counter()
            elapsed_fraction = (now - _align(now, width)) / width
            for (dimension, value), subject_rows in groupby(rows, key=lambda r: (r["dimension"], r["value"])):
                buckets = densify(
                    ((r["bucket"], r["total"], r["negative"], r["strongly_negative"]) for r in subject_rows),
                    history_start,
                    series_end,
                    params.bucket_minutes,
                )
                for finding in detect(
                    buckets, params, evaluate_from=since, last_bucket_fraction=max(elapsed_fraction, 0.05)
                ):
                    if finding.end > stale_before:
                        findings.append((dimension, value, evidence_window(finding, params)))
            outcome.detector_ms = (time.perf_counter() - detector_started) * 1000
        outcome.findings = len(findings)
        findings.sort(key=lambda f: (SUBJECT_DIMENSIONS.index(f[0]), -f[2].severity, f[1]))
        claims = _open_claims(conn)
        for dimension, value, finding in findings:
            _apply_finding(conn, dimension, value, finding, now, settings, trigger, outcome, events, params, claims)
        outcome.resolved = _auto_resolve(conn, now, settings)
        events += [("crisis:resolved", crisis_id, None) for crisis_id in outcome.resolved]
    notify.after_changes(events, settings["alert_email_min_severity"])
    outcome.elapsed_ms = (time.perf_counter() - started) * 1000
    if outcome.opened or outcome.resolved or outcome.findings:
        logger.info("crisis detection", extra=outcome.as_dict())
    return outcome
