"""The latency histogram's precision against exact percentiles, and the metrics wiring held against template.yaml."""

from __future__ import annotations

import datetime as dt
import math
import random
import re

import pytest

from localcloud.template import load_template
from tests.conftest import PROJECT_ROOT
from warroom.metrics.histogram import BOUNDS, BUCKETS, RELATIVE_ERROR, bucket_of, bucket_range, percentiles
from warroom.metrics.job import health_changes
from warroom.metrics.system import SCHEDULED_JOBS

TEMPLATE = load_template(PROJECT_ROOT / "template.yaml")
RESOURCES = TEMPLATE["Resources"]


def percentile_cont(values: list[int], quantile: float) -> float:
    """PostgreSQL's percentile_cont: linear interpolation between the two closest ranks."""
    ordered = sorted(values)
    position = quantile * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (position - low) * (ordered[high] - ordered[low])


def histogram_of(values: list[int]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for value in values:
        counts[bucket_of(value)] = counts.get(bucket_of(value), 0) + 1
    return counts


def test_bounds_are_pinned_because_stored_rollups_are_numbered_by_them():
    # Changing them would silently misread every stored histogram.
    assert len(BOUNDS) == 111 and BUCKETS == 112
    assert BOUNDS[:17] == tuple(range(1, 18)) and BOUNDS[17:20] == (19, 21, 23)
    assert BOUNDS[-1] == 60097
    assert list(BOUNDS) == sorted(set(BOUNDS))
    assert 0.045 < RELATIVE_ERROR < 0.046


@pytest.mark.parametrize("value", [0, 1, 15, 16, 17, 18, 19, 250, 60096, 60097, 10**7])
def test_every_value_lands_in_the_bucket_whose_range_holds_it(value):
    first, last = bucket_range(bucket_of(value))
    assert first <= value and (last is None or value <= last)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("shape", ["lognormal", "bimodal", "fast", "few"])
def test_percentiles_are_within_the_bucket_precision_of_percentile_cont(seed, shape):
    # GIVEN response times of a realistic shape
    rng = random.Random(seed)
    size = {"lognormal": 5000, "bimodal": 3000, "fast": 2000, "few": 3}[shape]
    if shape == "lognormal":
        values = [round(rng.lognormvariate(3.5, 0.9)) for _ in range(size)]
    elif shape == "bimodal":
        values = [round(rng.gauss(12, 3)) if rng.random() < 0.7 else round(rng.gauss(900, 150)) for _ in range(size)]
    elif shape == "fast":
        values = [rng.randint(0, 15) for _ in range(size)]
    else:
        values = [rng.randint(1, 60_000) for _ in range(size)]
    values = [max(v, 0) for v in values]
    # WHEN read from the histogram
    found = percentiles(histogram_of(values), [0.5, 0.95, 0.99], minimum=min(values), maximum=max(values))
    # THEN each is within the documented precision of the exact value (exact below 16 ms)
    for quantile, estimate in found.items():
        exact = percentile_cont(values, quantile)
        assert estimate is not None
        assert abs(estimate - exact) <= RELATIVE_ERROR * exact + 1e-9, (quantile, estimate, exact)
        if exact < 16 and max(values) < 16:
            assert estimate == pytest.approx(exact)


def test_empty_histogram_has_no_percentiles():
    assert percentiles({}, [0.5, 0.99], minimum=0, maximum=0) == {0.5: None, 0.99: None}


def test_health_changes_name_each_dependency_that_moved():
    assert health_changes({"redis": "up", "aws": "up"}, {"redis": "down", "aws": "up", "sqs": "up"}) == [
        {"dependency": "redis", "from": "up", "to": "down"},
        {"dependency": "sqs", "from": None, "to": "up"},
    ]
    assert health_changes({"redis": "up"}, {"redis": "up"}) == []


def _queue_urls_variable(function: str) -> dict[str, str]:
    value = RESOURCES[function]["Properties"]["Environment"]["Variables"]["WARROOM_METRICS_QUEUE_URLS"]
    separator, parts = value["Fn::Join"]
    assert separator == ","
    return dict(part["Fn::Sub"].split("=", 1) for part in parts)


@pytest.mark.parametrize("function", ["MetricsFunction", "MetricsJobFunction"])
def test_every_queue_of_the_template_is_reported_with_its_permission(function):
    queues = {name for name, resource in RESOURCES.items() if resource["Type"] == "AWS::SQS::Queue"}
    pairs = _queue_urls_variable(function)
    # Each logical id is substituted with its own Ref (the queue URL).
    assert pairs == {name: "${" + name + "}" for name in queues}
    granted = set()
    for policy in RESOURCES[function]["Properties"]["Policies"]:
        for statement in policy.get("Statement", []) if isinstance(policy, dict) else []:
            if statement.get("Action") == "sqs:GetQueueAttributes":
                granted |= {arn["Fn::GetAtt"][0] for arn in statement["Resource"]}
    assert granted == queues


def test_every_schedule_is_a_recorded_job_that_metrics_lists():
    # GIVEN every scheduled function of the template
    expected = set()
    for name, resource in RESOURCES.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        events = resource["Properties"].get("Events") or {}
        schedules = [e for e in events.values() if e["Type"] in ("Schedule", "ScheduleV2")]
        if not schedules:
            continue
        folder = resource["Properties"]["CodeUri"].strip("/").split("/")[-1]
        source = (PROJECT_ROOT / "functions" / folder / "app.py").read_text()
        # THEN its handler is decorated to record its runs
        found = re.search(r'@recorded_job\("([a-z_]+)"(, variant_key="(\w+)", default_variant="(\w+)")?\)', source)
        assert found, f"{name}: handler is not @recorded_job(...)"
        job, variant_key, default = found.group(1), found.group(3), found.group(4)
        if variant_key is None:
            expected.add(job)
            continue
        for event in schedules:
            raw_input = event["Properties"].get("Input")
            variant = re.search(rf'"{variant_key}":\s*"(\w+)"', raw_input).group(1) if raw_input else default
            expected.add(f"{job}:{variant}")
    # AND /metrics/system lists each, run or not
    assert set(SCHEDULED_JOBS) == expected


@pytest.mark.parametrize(
    ("start", "end", "parts"),
    [
        # mid-hour to mid-hour: whole hours inside, ten minutes and minutes at both ends
        (
            "10:17",
            "13:42",
            [
                ("minute", "10:17", "10:20"),
                ("10min", "10:20", "11:00"),
                ("hour", "11:00", "13:00"),
                ("10min", "13:00", "13:40"),
                ("minute", "13:40", "13:42"),
            ],
        ),
        # aligned: hours only
        ("10:00", "12:00", [("hour", "10:00", "12:00")]),
        # inside one hour: ten minutes and minutes
        ("10:05", "10:50", [("minute", "10:05", "10:10"), ("10min", "10:10", "10:50")]),
        ("10:05", "10:08", [("minute", "10:05", "10:08")]),
    ],
)
def test_a_period_is_read_from_the_coarsest_rollups_that_fit(start, end, parts):
    from warroom.metrics.api import cover

    def at(hhmm: str) -> dt.datetime:
        return dt.datetime(2026, 12, 1, int(hhmm[:2]), int(hhmm[3:]), tzinfo=dt.UTC)

    assert cover(at(start), at(end)) == [(name, at(a), at(b)) for name, a, b in parts]


def test_the_window_is_whole_minutes():
    from warroom.metrics.api import period_window
    from warroom.metrics.models import ApiMetricsQuery

    now = dt.datetime(2026, 12, 1, 12, 30, 45, 500, tzinfo=dt.UTC)
    assert period_window(ApiMetricsQuery(period="1h"), now) == (
        dt.datetime(2026, 12, 1, 11, 30, tzinfo=dt.UTC),
        dt.datetime(2026, 12, 1, 12, 31, tzinfo=dt.UTC),
    )
    exact = ApiMetricsQuery.model_validate({"from": "2026-12-01T10:00:00Z", "to": "2026-12-01T11:00:00Z"})
    assert period_window(exact, now) == (
        dt.datetime(2026, 12, 1, 10, tzinfo=dt.UTC),
        dt.datetime(2026, 12, 1, 11, tzinfo=dt.UTC),
    )
