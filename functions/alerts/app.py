"""Alert Center: crisis alerts listed, opened, created by hand, acknowledged and resolved."""

from __future__ import annotations

from warroom.auth.guard import authenticate_request
from warroom.core.http import RequestContext, WarRoomApp
from warroom.core.pagination import Page
from warroom.crisis import alerts
from warroom.crisis.models import AlertCreate, AlertDetail, AlertListQuery, AlertOut, AlertTransition

app = WarRoomApp("alerts", authenticate=authenticate_request)


@app.endpoint("GET", "/api/v1/alerts", role="readonly", query=AlertListQuery, response=Page[AlertOut])
def list_alerts(query: AlertListQuery) -> Page[AlertOut]:
    """Alerts newest first; filters: status, severity range (1-10), detection time (`from`, `to`)."""
    return alerts.list_alerts(query)


@app.endpoint(
    "POST", "/api/v1/alerts", role="manager", body=AlertCreate, response=AlertOut, status_code=201, errors=(404,)
)
def create_alert(body: AlertCreate, ctx: RequestContext) -> AlertOut:
    """A manual crisis, active at once (broadcast as `crisis:detected`, audited, emailed when severe enough).

    `mention_ids` (up to 100) are linked to it; unknown ones are a 404 that creates nothing.
    """
    return alerts.create_alert(body, ctx.actor())


@app.endpoint("GET", "/api/v1/alerts/{alert_id}", role="readonly", response=AlertDetail, errors=(404,))
def get_alert(alert_id: str) -> AlertDetail:
    """One alert with its trigger, the timeline of its status changes and a sample of its linked mentions."""
    return alerts.alert_detail(alert_id)


@app.endpoint(
    "POST",
    "/api/v1/alerts/{alert_id}/acknowledge",
    role="user",
    body=AlertTransition,
    response=AlertOut,
    errors=(404, 409),
)
def acknowledge_alert(alert_id: str, body: AlertTransition, ctx: RequestContext) -> AlertOut:
    """`active -> acknowledged` (409 from any other status); records who and when; audited."""
    return alerts.acknowledge_alert(alert_id, body.note, ctx.actor())


@app.endpoint(
    "POST",
    "/api/v1/alerts/{alert_id}/resolve",
    role="manager",
    body=AlertTransition,
    response=AlertOut,
    errors=(404, 409),
)
def resolve_alert(alert_id: str, body: AlertTransition, ctx: RequestContext) -> AlertOut:
    """`active | acknowledged -> resolved` (409 when already resolved); broadcasts `crisis:resolved`; audited."""
    return alerts.resolve_alert(alert_id, body.note, ctx.actor())
