"""The campaign routes through their Lambda handlers, over mock data synced into real PostgreSQL and Redis.

The figures a paid-media team reads must be right to the cent: every total here is checked against the sum of
the stored rows (decimals, never floats), and every bad input gets a 4xx naming its field.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from tests.fake_google_ads import FakeGoogleAds, metrics_row
from warroom.pipelines.campaigns import MANUAL_SYNCS_PER_HOUR, sync_campaigns

TODAY = dt.datetime.now(dt.UTC).date()
LAST_30 = {"from": [(TODAY - dt.timedelta(days=29)).isoformat()], "to": [TODAY.isoformat()]}


@pytest.fixture
def synced(services):
    """Both platforms' mock campaigns, 60 days of them, as `warroom dev` has them after its first sync."""
    outcome = sync_campaigns()
    assert [p.status for p in outcome.platforms] == ["synced", "synced"]
    return outcome


@pytest.fixture
def reader(token_for):
    return token_for("readonly")


def get(invoke, event: str, token: str, query=None, path=None, function: str = "CampaignsFunction"):
    return invoke(function, event, token=token, query=query if query is not None else {}, path_parameters=path)


def campaign_ids(db, platform: str | None = None) -> list[str]:
    rows = db.execute(
        "SELECT id FROM campaigns WHERE %s::text IS NULL OR platform = %s ORDER BY name, id", (platform, platform)
    ).fetchall()
    return [str(r["id"]) for r in rows]


def spend_in_db(db, since: str, until: str, platform: str | None = None) -> Decimal:
    row = db.execute(
        "SELECT coalesce(sum(d.spend), 0) AS spend FROM campaign_days d JOIN campaigns c ON c.id = d.campaign_id"
        " WHERE d.day BETWEEN %s AND %s AND (%s::text IS NULL OR c.platform = %s)",
        (since, until, platform, platform),
    ).fetchone()
    return row["spend"]


def test_the_list_pages_alphabetically_through_every_campaign_and_filters(invoke, synced, reader, db):
    seen, cursor = [], None
    while True:
        query = {"limit": ["5"], **({"cursor": [cursor]} if cursor else {})}
        page = get(invoke, "campaigns_list", reader, query)
        assert page.status == 200, page.body
        seen += [item["id"] for item in page.body["items"]]
        cursor = page.body["next_cursor"]
        if cursor is None:
            break
    assert seen == campaign_ids(db) and len(seen) >= 20  # both platforms, each once, by name

    meta = get(invoke, "campaigns_list", reader, {"platform": ["meta"], "limit": ["200"]}).body["items"]
    assert {c["platform"] for c in meta} == {"meta"} and len(meta) == len(campaign_ids(db, "meta"))
    political = [c for c in meta if "ISSUES_ELECTIONS_POLITICS" in c["special_ad_categories"]]
    assert political, "Meta political ads carry their special ad category"
    word = meta[0]["name"].split()[0]
    named = get(invoke, "campaigns_list", reader, {"q": [word.lower()], "limit": ["200"]}).body["items"]
    assert named and all(word.lower() in c["name"].lower() for c in named)
    assert all(isinstance(c["daily_budget"] or "", str) for c in meta)  # money is a decimal string


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"platform": ["tiktok"]}, "platform"),
        ({"status": ["active; drop"]}, "status"),
        ({"limit": ["0"]}, "limit"),
        ({"cursor": ["not-a-cursor"]}, "cursor"),
    ],
)
def test_bad_list_filters_are_422_naming_the_field(invoke, services, reader, query, field):
    answer = get(invoke, "campaigns_list", reader, query)
    assert answer.status == 422
    assert field in [d["loc"][-1] for d in answer.body["error"]["details"]]


def test_one_campaign_carries_its_lifetime_totals(invoke, synced, reader, db):
    campaign_id = campaign_ids(db, "google_ads")[0]
    answer = get(invoke, "campaigns_get", reader, path={"campaign_id": campaign_id})
    assert answer.status == 200, answer.body
    stored = db.execute(
        "SELECT sum(spend) AS spend, sum(clicks) AS clicks, min(day) AS first FROM campaign_days"
        " WHERE campaign_id = %s",
        (campaign_id,),
    ).fetchone()
    assert Decimal(answer.body["totals"]["spend"]) == stored["spend"]
    assert answer.body["totals"]["clicks"] == stored["clicks"]
    assert answer.body["first_day"] == stored["first"].isoformat()
    for unknown in (str(uuid.uuid4()), "not-a-uuid"):
        missing = get(invoke, "campaigns_get", reader, path={"campaign_id": unknown})
        assert missing.status == 404 and missing.body["error"]["code"] == "not_found"


def test_weekly_points_sum_the_daily_ones_and_derive_their_figures_from_sums(invoke, synced, reader, db):
    campaign_id = campaign_ids(db, "meta")[0]
    path = {"campaign_id": campaign_id}
    daily = get(invoke, "campaigns_metrics", reader, {**LAST_30, "interval": ["day"]}, path).body
    weekly = get(invoke, "campaigns_metrics", reader, {**LAST_30, "interval": ["week"]}, path).body
    assert sum(Decimal(p["spend"]) for p in daily["points"]) == sum(Decimal(p["spend"]) for p in weekly["points"])
    assert all(dt.date.fromisoformat(p["start"]).weekday() == 0 for p in weekly["points"][1:])
    for point in weekly["points"]:
        if point["clicks"]:
            expected = (Decimal(point["spend"]) / point["clicks"]).quantize(Decimal("0.0001"))
            assert Decimal(point["cpc"]) == expected  # from the week's sums, not an average of days
    bad = get(invoke, "campaigns_metrics", reader, {"interval": ["month"]}, path)
    assert bad.status == 422 and bad.body["error"]["details"][0]["loc"][-1] == "interval"


def test_the_summary_is_exact_and_the_overall_is_the_sum_of_the_platforms(invoke, synced, reader, db):
    answer = get(invoke, "campaigns_summary", reader, LAST_30)
    assert answer.status == 200, answer.body
    body = answer.body
    platforms = {p["platform"]: p for p in body["platforms"]}
    assert set(platforms) == {"meta", "google_ads"}
    since, until = LAST_30["from"][0], LAST_30["to"][0]
    for name, figures in platforms.items():
        assert Decimal(figures["spend"]) == spend_in_db(db, since, until, name)
    assert Decimal(body["overall"]["spend"]) == sum(Decimal(p["spend"]) for p in platforms.values())
    assert body["overall"]["impressions"] == sum(p["impressions"] for p in platforms.values())
    overall = body["overall"]
    assert Decimal(overall["cpm"]) == (Decimal(overall["spend"]) * 1000 / overall["impressions"]).quantize(
        Decimal("0.0001")
    )
    cached = get(invoke, "campaigns_summary", reader, LAST_30)
    assert cached.body == body  # the cached answer is the same answer


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": ["2026-11-30"], "to": ["2026-11-01"]}, "to"),
        ({"from": ["2020-01-01"], "to": ["2026-11-01"]}, "from"),  # longer than campaign_max_range_days
        ({"from": ["0001-01-01"]}, "from"),
        ({"to": ["2026-02-30"]}, "to"),
    ],
)
def test_bad_periods_are_422_naming_the_field(invoke, services, reader, query, field):
    answer = get(invoke, "campaigns_summary", reader, query)
    assert answer.status == 422, answer.body
    assert field in [d["loc"][-1] for d in answer.body["error"]["details"]]


def test_compare_answers_the_campaigns_asked_in_order_and_refuses_bad_lists(invoke, synced, reader, db):
    ids = campaign_ids(db)[:3]
    answer = get(invoke, "campaigns_compare", reader, {**LAST_30, "ids": [",".join(ids)]})
    assert answer.status == 200, answer.body
    assert [c["campaign"]["id"] for c in answer.body["campaigns"]] == ids
    for bad in (ids[:1], [*campaign_ids(db)[:11]], [ids[0], ids[0]], ["x", "y"]):
        refused = get(invoke, "campaigns_compare", reader, {"ids": [",".join(bad)]})
        assert refused.status == 422 and refused.body["error"]["details"][0]["loc"][-1] == "ids"
    unknown = str(uuid.uuid4())
    missing = get(invoke, "campaigns_compare", reader, {"ids": [f"{ids[0]},{unknown}"]})
    assert missing.status == 404 and missing.body["error"]["details"] == {"unknown_ids": [unknown]}


def test_top_ranks_by_the_metric_cheapest_first_for_costs(invoke, synced, reader):
    by_cpa = get(invoke, "campaigns_top", reader, {**LAST_30, "metric": ["cpa"], "limit": ["5"]}).body
    values = [Decimal(item["value"]) for item in by_cpa["items"]]
    assert values == sorted(values) and len(values) == 5
    by_spend = get(invoke, "campaigns_top", reader, {**LAST_30, "metric": ["spend"], "limit": ["3"]}).body
    spends = [Decimal(item["totals"]["spend"]) for item in by_spend["items"]]
    assert spends == sorted(spends, reverse=True) and [i["rank"] for i in by_spend["items"]] == [1, 2, 3]
    for query in ({"metric": ["roas; --"]}, {"limit": ["51"]}):
        refused = get(invoke, "campaigns_top", reader, query)
        assert refused.status == 422


def test_pacing_flags_the_campaigns_that_over_and_under_spend(invoke, synced, reader):
    answer = get(invoke, "campaigns_pacing", reader)
    assert answer.status == 200, answer.body
    items = answer.body["items"]
    statuses = {item["status"] for item in items}
    assert {"over", "under"} <= statuses  # the mock keeps one campaign of each on every platform
    for item in items:
        if item["status"] == "over":
            assert Decimal(item["pacing_pct"]) >= answer.body["over_threshold_pct"]
        if item["status"] in ("over", "under", "on_track"):
            spent, budget = Decimal(item["spend_to_date"]), Decimal(item["budget"])
            share = Decimal(item["elapsed_share"])
            assert Decimal(item["pacing_pct"]) == ((spent / budget) / share * 100).quantize(Decimal("0.1"))


def test_campaign_alerts_open_once_per_campaign_and_reason(invoke, synced, reader, db):
    alerts = invoke("AlertsFunction", "alerts_list", token=reader, query={"limit": ["200"]}).body["items"]
    campaign_alerts = [a for a in alerts if a["kind"] == "campaign"]
    reasons = {a["trigger"]["rule"] for a in campaign_alerts}
    assert {"overspend", "underspend"} <= reasons
    assert all(a["subject"]["dimension"] == "campaign" for a in campaign_alerts)
    overspend = next(a for a in campaign_alerts if a["trigger"]["rule"] == "overspend")
    assert overspend["title"].startswith("Overspending: ") and overspend["severity"] >= 7
    # the next sync refreshes the evidence; it opens nothing new while the condition lasts
    again = sync_campaigns()
    assert again.alerts["opened"] == []
    open_count = db.execute(
        "SELECT count(*) AS n FROM crisis_events WHERE kind = 'campaign' AND status <> 'resolved'"
    ).fetchone()["n"]
    assert open_count == len(campaign_alerts)


def test_sync_is_for_managers_limited_per_hour_and_audited(invoke, services, token_for, db):
    assert invoke("CampaignsFunction", "campaigns_sync", token=token_for("user")).status == 403
    manager = token_for("manager")
    first = invoke("CampaignsFunction", "campaigns_sync", token=manager, body={"platforms": ["meta"]})
    assert first.status == 200, first.body
    assert [(p["platform"], p["status"]) for p in first.body["platforms"]] == [("meta", "synced")]
    audited = db.execute("SELECT details FROM audit_logs WHERE action = 'campaigns.sync'").fetchall()
    assert audited[-1]["details"] == {"platforms": {"meta": "synced"}}
    for _ in range(MANUAL_SYNCS_PER_HOUR - 1):
        assert invoke("MetaFunction", "meta_sync", token=manager).status == 200
    refused = invoke("MetaFunction", "meta_sync", token=manager)
    assert refused.status == 429 and int(refused.headers["retry-after"]) >= 1
    bad = invoke("CampaignsFunction", "campaigns_sync", token=manager, body={"platforms": ["tiktok"]})
    assert bad.status == 422


def test_the_platform_routes_read_each_platforms_own_ids(invoke, synced, reader, db):
    meta = get(invoke, "meta_campaigns", reader, {"limit": ["200"]}, function="MetaFunction").body["items"]
    assert meta and {c["platform"] for c in meta} == {"meta"}
    external = meta[0]["external_id"]
    ad_sets = get(invoke, "meta_adsets", reader, {"campaign_id": [external]}, function="MetaFunction").body["items"]
    assert ad_sets and {a["campaign_external_id"] for a in ad_sets} == {external}
    insights = get(
        invoke, "meta_campaign_insights", reader, LAST_30, {"campaign_id": external}, function="MetaFunction"
    ).body
    assert insights["platform"] == "meta" and insights["rows"]
    assert Decimal(insights["totals"]["spend"]) == sum(Decimal(r["spend"]) for r in insights["rows"])
    missing = get(invoke, "meta_adsets", reader, {"campaign_id": ["999"]}, function="MetaFunction")
    assert missing.status == 404
    account = get(invoke, "google_ads_insights", reader, LAST_30, function="GoogleAdsFunction").body
    since, until = LAST_30["from"][0], LAST_30["to"][0]
    assert Decimal(account["totals"]["spend"]) == spend_in_db(db, since, until, "google_ads")
    google_id = db.execute("SELECT external_id FROM campaigns WHERE platform = 'google_ads' LIMIT 1").fetchone()
    path = {"campaign_id": google_id["external_id"]}
    performance = get(invoke, "google_ads_campaign_performance", reader, LAST_30, path, function="GoogleAdsFunction")
    assert performance.status == 200 and performance.body["campaign_id"] == google_id["external_id"]


def test_in_live_a_platform_without_credentials_is_503_while_the_other_syncs(
    invoke, synced, token_for, monkeypatch, db
):
    from warroom.core.config import reset_settings

    admin = token_for("admin")
    assert invoke("SystemFunction", "system_put_data_mode", token=admin, body={"mode": "LIVE"}).status == 200
    with FakeGoogleAds() as google:
        row = metrics_row(
            "777", "Live", TODAY.isoformat(), impressions=100, clicks=7, cost_micros=1_230_000, conversions=1
        )
        google.rows = [row]
        monkeypatch.delenv("META_ACCESS_TOKEN", raising=False)
        for name, value in {
            "WARROOM_GOOGLE_ADS_CUSTOMER_ID": google.customer_id,
            "WARROOM_GOOGLE_ADS_CLIENT_ID": google.client_id,
            "GOOGLE_ADS_CLIENT_SECRET": google.client_secret,
            "GOOGLE_ADS_REFRESH_TOKEN": google.refresh_token,
            "WARROOM_GOOGLE_ADS_BASE_URL": google.base_url,
            "WARROOM_GOOGLE_ADS_TOKEN_URL": google.token_url,
        }.items():
            monkeypatch.setenv(name, value)
        reset_settings()
        manager = token_for("manager")
        meta_sync = invoke("MetaFunction", "meta_sync", token=manager)
        assert meta_sync.status == 503
        assert meta_sync.body["error"]["details"] == {"dependency": "meta", "cause": "not_configured"}
        both = invoke("CampaignsFunction", "campaigns_sync", token=manager, body={})
        assert both.status == 200, both.body
        outcome = {p["platform"]: p for p in both.body["platforms"]}
        assert (outcome["meta"]["status"], outcome["meta"]["cause"]) == ("failed", "not_configured")
        assert outcome["google_ads"]["status"] == "synced"
        health = invoke("SystemFunction", "system_health").body["dependencies"]
        assert (health["meta"]["status"], health["meta"]["error"]) == ("not_configured", "not_configured")
        assert health["google_ads"]["status"] == "up"
    reset_settings()
    live = db.execute(
        "SELECT spend FROM campaign_days d JOIN campaigns c ON c.id = d.campaign_id WHERE c.external_id = '777'"
    ).fetchone()
    assert live["spend"] == Decimal("1.23")
    # what was stored stays readable
    stored = get(invoke, "meta_campaigns", token_for("readonly"), {}, function="MetaFunction")
    assert stored.status == 200 and stored.body["items"]
