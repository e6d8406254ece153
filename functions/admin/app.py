"""Admin: users (list, create, change role / status / name, deactivate), API keys (list, create, revoke) and outgoing
webhook subscriptions (list, create, change, delete, deliveries, test)."""

from __future__ import annotations

from warroom.admin import api_keys, users
from warroom.admin.models import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    UserCreate,
    UserListQuery,
    UserUpdate,
)
from warroom.auth.guard import authenticate_request
from warroom.auth.models import UserOut
from warroom.core.http import RequestContext, WarRoomApp
from warroom.core.pagination import Page, PageQuery
from warroom.crisis.models import SimulateBody, SimulateOut
from warroom.webhooks import delivery as webhook_delivery
from warroom.webhooks import subscriptions as webhook_subscriptions
from warroom.webhooks.outgoing_models import (
    DeliveryListQuery,
    DeliveryOut,
    TestDeliveryOut,
    WebhookCreate,
    WebhookCreated,
    WebhookOut,
    WebhookUpdate,
)

app = WarRoomApp("admin", authenticate=authenticate_request)


@app.endpoint("GET", "/api/v1/admin/users", role="admin", query=UserListQuery, response=Page[UserOut])
def list_users(query: UserListQuery) -> Page[UserOut]:
    """Users, newest first, filtered by role, status or a substring of the email or name."""
    return users.list_users(query.role, query.status, query.q, query.cursor, query.limit)


@app.endpoint(
    "POST",
    "/api/v1/admin/users",
    role="admin",
    bearer_only=True,
    body=UserCreate,
    response=UserOut,
    status_code=201,
    errors=(409,),
)
def create_user(body: UserCreate, ctx: RequestContext) -> UserOut:
    """Create a user with a role and an initial password (audited).

    The password needs 12 characters or more, at most 72 bytes, and must not be easy to guess (422).
    An email that already has an account, in any letter case, is a 409.
    """
    return users.create_user(body, ctx.actor())


@app.endpoint(
    "PATCH",
    "/api/v1/admin/users/{user_id}",
    role="admin",
    bearer_only=True,
    body=UserUpdate,
    response=UserOut,
    errors=(404, 409),
)
def update_user(user_id: str, body: UserUpdate, ctx: RequestContext) -> UserOut:
    """Change a user's role, status or full name (audited with old and new values).

    Deactivating revokes the user's sessions and access tokens; a role change revokes their access
    tokens. The last active admin can be neither demoted nor deactivated (409).
    """
    return users.update_user(user_id, body, ctx.actor())


@app.endpoint(
    "DELETE", "/api/v1/admin/users/{user_id}", role="admin", bearer_only=True, status_code=204, errors=(404, 409)
)
def deactivate_user(user_id: str, ctx: RequestContext) -> None:
    """Deactivate a user: sessions and access tokens revoked, history kept (audited). Not the last admin (409)."""
    users.deactivate_user(user_id, ctx.actor())


@app.endpoint(
    "GET", "/api/v1/admin/api-keys", role="admin", bearer_only=True, query=PageQuery, response=Page[ApiKeyOut]
)
def list_api_keys(query: PageQuery) -> Page[ApiKeyOut]:
    """API keys (active, revoked and expired), newest first, by prefix; never the key itself."""
    return api_keys.list_api_keys(query.cursor, query.limit)


@app.endpoint(
    "POST",
    "/api/v1/admin/api-keys",
    role="admin",
    bearer_only=True,
    body=ApiKeyCreate,
    response=ApiKeyCreated,
    status_code=201,
)
def create_api_key(body: ApiKeyCreate, ctx: RequestContext) -> ApiKeyCreated:
    """Create an API key for an external tool (audited); the answer's `key` is shown this once.

    Send it as `X-API-Key`. Its role cannot be higher than yours (403); keys cannot create keys (403).
    Each key may make 1000 requests an hour (429 past it; `X-RateLimit-*` headers on every answer).
    """
    return api_keys.create_api_key(body.name, body.role, body.expires_at, ctx.principal, ctx.actor())


@app.endpoint(
    "DELETE", "/api/v1/admin/api-keys/{key_id}", role="admin", bearer_only=True, status_code=204, errors=(404,)
)
def revoke_api_key(key_id: str, ctx: RequestContext) -> None:
    """Revoke an API key (audited): refused at once here, everywhere within 30 seconds."""
    api_keys.revoke_api_key(key_id, ctx.actor())


@app.endpoint(
    "POST",
    "/api/v1/admin/simulate",
    role="admin",
    bearer_only=True,
    body=SimulateBody,
    response=SimulateOut,
    errors=(409,),
)
def simulate(body: SimulateBody) -> dict:
    """MOCK only (409 in LIVE): push a scenario (`crisis`, `viral-positive`, `slow-burn`) through the real pipeline.

    The burst is ingested like any sync (mention stream, rollups) and crisis detection runs on it, so
    `crisis:detected` reaches the dashboards within seconds for `crisis` and `slow-burn`, never for
    `viral-positive`. Answers what was ingested and which alerts it opened or updated.
    """
    from warroom.pipelines.simulate import simulate as simulate_scenario  # ingest + detection: this route only

    return simulate_scenario(body.scenario, body.topic)


@app.endpoint(
    "GET", "/api/v1/admin/webhooks", role="admin", bearer_only=True, query=PageQuery, response=Page[WebhookOut]
)
def list_webhooks(query: PageQuery) -> Page[WebhookOut]:
    """Outgoing webhook subscriptions, newest first, with their state; never a secret."""
    return webhook_subscriptions.list_subscriptions(query.cursor, query.limit)


@app.endpoint(
    "POST",
    "/api/v1/admin/webhooks",
    role="admin",
    bearer_only=True,
    body=WebhookCreate,
    response=WebhookCreated,
    status_code=201,
)
def create_webhook(body: WebhookCreate, ctx: RequestContext) -> WebhookCreated:
    """Subscribe a URL to events (audited); the answer's `secret` (`whsec_...`) is shown this once.

    Every delivery is signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`) with
    that secret. The URL must be https and resolve only to public addresses (http to localhost only in local
    development); credentials in the URL, well-known ports and private, loopback, link-local or metadata
    addresses are a 422.
    """
    return webhook_subscriptions.create_subscription(str(body.url), body.events, body.description, ctx.actor())


@app.endpoint(
    "PATCH",
    "/api/v1/admin/webhooks/{webhook_id}",
    role="admin",
    bearer_only=True,
    body=WebhookUpdate,
    response=WebhookOut,
    errors=(404,),
)
def update_webhook(webhook_id: str, body: WebhookUpdate, ctx: RequestContext) -> WebhookOut:
    """Change a subscription's events, description or `enabled` (audited with old and new values).

    Disabling abandons its waiting deliveries; enabling clears `failing` and `gone`.
    """
    return webhook_subscriptions.update_subscription(webhook_id, body, ctx.actor())


@app.endpoint(
    "DELETE", "/api/v1/admin/webhooks/{webhook_id}", role="admin", bearer_only=True, status_code=204, errors=(404,)
)
def delete_webhook(webhook_id: str, ctx: RequestContext) -> None:
    """Delete a subscription and its delivery log (audited)."""
    webhook_subscriptions.delete_subscription(webhook_id, ctx.actor())


@app.endpoint(
    "GET",
    "/api/v1/admin/webhooks/{webhook_id}/deliveries",
    role="admin",
    bearer_only=True,
    query=DeliveryListQuery,
    response=Page[DeliveryOut],
    errors=(404,),
)
def list_webhook_deliveries(webhook_id: str, query: DeliveryListQuery) -> Page[DeliveryOut]:
    """A subscription's deliveries, newest first: status, attempts, last response code and error, next attempt."""
    return webhook_delivery.list_deliveries(webhook_id, query.status, query.cursor, query.limit)


@app.endpoint(
    "POST",
    "/api/v1/admin/webhooks/{webhook_id}/test",
    role="admin",
    bearer_only=True,
    response=TestDeliveryOut,
    status_code=202,
    errors=(404, 409),
)
def test_webhook(webhook_id: str, ctx: RequestContext) -> TestDeliveryOut:
    """Send a signed `webhook:test` event through the delivery queue (audited); answers the delivery's ids.

    Follow it in `GET /admin/webhooks/{id}/deliveries`. A disabled subscription is a 409.
    """
    return webhook_delivery.send_test(webhook_id, ctx.actor())
