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
4. **Crises**, most specific subject first (topics, keywords, channels, the campaign): update the subject's
   open crisis, or respect its cooldown, or -- when open (or cooling) crises on subjects inside it share its
   burst -- judge it again with their mentions taken out of its window and history
   (:mod:`warroom.crisis.attribution`): if what is left does not meet the rules, the surge is theirs, recorded
   as a related subject of each; otherwise, or with no such crises, open one.
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
from warroom.crisis.attribution import attribute
from warroom.crisis.detector import DEFAULT_PARAMS, DetectorParams, Finding, densify, detect
from warroom.crisis.settings import read_crisis_settings
from warroom.crisis.store import record_change
from warroom.mentions.models import SOURCES
from warroom.mentions.rollups import busiest_subjects, subject_series
from warroom.mentions.subjects import count_window_mentions, link_window_to_crisis, unclaimed_series

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


def _recorded_related(conn: psycopg.Connection) -> set[tuple[str, str, str]]:
    rows = conn.execute(
        "SELECT c.id, r ->> 'dimension' AS dimension, r ->> 'value' AS value FROM crisis_events AS c"
        " CROSS JOIN LATERAL jsonb_array_elements(coalesce(c.metadata -> 'related_subjects', '[]')) AS r"
        " WHERE c.kind = 'detected' AND c.status <> 'resolved'"
    ).fetchall()
    return {(str(r["id"]), r["dimension"], r["value"]) for r in rows}


def _open_claims(conn: psycopg.Connection) -> list[_Claim]:
    rows = conn.execute(
        "SELECT id, subject_dimension, subject_value FROM crisis_events"
        " WHERE kind = 'detected' AND status <> 'resolved'"
    ).fetchall()
    return [_Claim(r["subject_dimension"], r["subject_value"], str(r["id"])) for r in rows]


# How specific a subject is: a topic or keyword (peers that overlap), a channel, the whole campaign.
_SPECIFICITY = {"topic": 0, "keyword": 0, "source": 1, "all": 2}


@dataclass(frozen=True)
class _Run:
    """What every finding of one run is judged against: the history, the evaluated window, the clock."""

    history_start: dt.datetime
    series_end: dt.datetime
    since: dt.datetime
    stale_before: dt.datetime
    last_bucket_fraction: float
    # The subjects of each dimension that have findings in this run (whose series attribution may need).
    wanted: dict[str, list[str]] = field(default_factory=dict)
    # Their series without the topic and keyword crises' mentions, read once per dimension and set of crises.
    unclaimed: dict[tuple[str, tuple[tuple[str, str], ...]], dict[str, list[dict[str, Any]]]] = field(
        default_factory=dict
    )
    # (crisis id, dimension, value) already recorded as related: each run re-finds the bursts still in its window.
    related: set[tuple[str, str, str]] = field(default_factory=set)


def _explaining(dimension: str, value: str, claims: list[_Claim]) -> list[_Claim]:
    """The claims that may explain a surge of this subject: open (or cooling) crises on subjects more specific
    than it, or on a peer topic or keyword. Never the whole campaign (a campaign-wide crisis does not explain
    away a topic's own) and never a channel for a topic (the most specific subject owns a burst)."""
    rank = _SPECIFICITY[dimension]
    return [
        c
        for c in claims
        if (c.dimension, c.value) != (dimension, value)
        and (_SPECIFICITY[c.dimension] < rank or (_SPECIFICITY[c.dimension] == rank == 0))
    ]


def _residual(
    conn: psycopg.Connection, dimension: str, value: str, claims: list[_Claim], params: DetectorParams, run: _Run
) -> list[Any]:
    """The subject's series without the mentions of the crises that may explain it: every open (or cooling)
    topic and keyword crisis, and for the campaign every channel crisis too. One query per dimension and set
    of crises serves every subject of the run."""
    inside = tuple(sorted({(c.dimension, c.value) for c in claims if _SPECIFICITY[c.dimension] == 0}))
    grouped = "source" if dimension == "all" else dimension
    key = (grouped, inside)
    if key not in run.unclaimed:
        values = list(SOURCES) if grouped == "source" else run.wanted.get(grouped, [value])
        rows = unclaimed_series(
            conn, grouped, values, list(inside), run.history_start, run.series_end, params.bucket_minutes
        )
        by_value: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            by_value.setdefault(row["value"], []).append(row)
        run.unclaimed[key] = by_value
    if dimension == "all":
        channels = {c.value for c in claims if c.dimension == "source"}
        rows = [r for source, series in run.unclaimed[key].items() if source not in channels for r in series]
    else:
        rows = run.unclaimed[key].get(value, [])
    return densify(
        ((r["bucket"], r["total"], r["negative"], r["strongly_negative"]) for r in rows),
        run.history_start,
        run.series_end,
        params.bucket_minutes,
    )


def _attributed(
    conn: psycopg.Connection,
    dimension: str,
    value: str,
    finding: Finding,
    claims: list[_Claim],
    params: DetectorParams,
    run: _Run,
) -> tuple[Finding | None, list[_Claim], dict[str, Any]]:
    """``(finding to open, claims that share the burst, attribution figures)``: the finding is None when open
    crises inside this subject explain its surge (:mod:`warroom.crisis.attribution`), or what is left of it
    once their subjects' mentions are taken out, when that still meets the rules on its own."""
    usable = _explaining(dimension, value, claims)
    if not usable:
        return finding, [], {}
    _, counts = count_window_mentions(
        conn, (dimension, value), [(c.dimension, c.value) for c in usable], finding.start, finding.end
    )
    sharing = [c for c, n in zip(usable, counts, strict=True) if n > 0]
    if not sharing:
        return finding, [], {}
    residual = _residual(conn, dimension, value, claims, params, run)
    result = attribute(
        finding,
        residual,
        params,
        evaluate_from=run.since,
        last_bucket_fraction=run.last_bucket_fraction,
        stale_before=run.stale_before,
    )
    figures = {
        "explained_by": [{"dimension": c.dimension, "value": c.value} for c in dict.fromkeys(sharing)],
        "observed": result.observed,
        "excess": round(result.excess, 2),
        "explained": result.explained,
        "residual": result.residual,
    }
    own = evidence_window(result.own, params) if result.own is not None else None
    return own, sharing, figures


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
    run: _Run,
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
    # Explained already: with the mentions of the open (and cooling) crises inside this subject taken out,
    # what is left does not meet the rules -- the same bursts seen from further away (their channel, the campaign).
    own, sharing, attribution = _attributed(conn, dimension, value, finding, claims, params, run)
    if own is None:
        for claim in sharing:
            if claim.crisis_id is not None and (claim.crisis_id, dimension, value) not in run.related:
                _add_related(conn, claim.crisis_id, dimension, value)
                run.related.add((claim.crisis_id, dimension, value))
        outcome.related.append(f"{dimension}:{value}")
        return
    finding = own
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
    if attribution:
        trigger_data["attribution"] = attribution  # what the crises inside it explained, and what was left
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
        run = _Run(history_start, series_end, since, stale_before, max((now - _align(now, width)) / width, 0.05))
        for dimension, value, _ in findings:
            run.wanted.setdefault(dimension, []).append(value)
        run.related.update(_recorded_related(conn))
        for dimension, value, finding in findings:
            _apply_finding(
                conn, dimension, value, finding, now, settings, trigger, outcome, events, params, claims, run
            )
        outcome.resolved = _auto_resolve(conn, now, settings)
        events += [("crisis:resolved", crisis_id, None) for crisis_id in outcome.resolved]
    notify.after_changes(events, settings["alert_email_min_severity"])
    outcome.elapsed_ms = (time.perf_counter() - started) * 1000
    if outcome.opened or outcome.resolved or outcome.findings:
        logger.info("crisis detection", extra=outcome.as_dict())
    return outcome
