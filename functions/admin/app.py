"""Admin: users (list, create, change role / status / name, deactivate) and API keys (list, create, revoke)."""

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
