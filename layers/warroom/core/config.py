"""Configuration from the environment, with secrets from AWS Secrets Manager when configured.

Example
-------
>>> from warroom.core.config import get_settings
>>> get_settings().access_token_ttl_s
900

Secrets (database URL, JWT key, third-party tokens) are read, in order, from:

1. the JSON secret named by ``WARROOM_SECRETS_ARN`` in AWS Secrets Manager (one call, cached by
   Powertools for ``secrets_max_age_s``) -- how the functions get them in AWS and in ``warroom dev``;
2. the SSM SecureString parameters under ``WARROOM_SSM_PREFIX`` (``<prefix>/JWT_SECRET`` ...);
3. plain environment variables of the same names -- for tests and ad-hoc scripts.

:class:`Settings` is a plain pydantic model validated from ``os.environ`` (names matched without regard
to case), not a ``pydantic-settings`` class: that package costs every function about 80 ms of cold start
for reading environment variables, which is all we ask of it.
"""

from __future__ import annotations

import functools
import json
import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

DataMode = Literal["MOCK", "LIVE"]

SECRET_NAMES = (
    "DATABASE_URL",
    "JWT_SECRET",
    "MENTIONLYTICS_API_TOKEN",
    "MENTIONLYTICS_REFRESH_TOKEN",
    "META_ACCESS_TOKEN",
    "META_APP_SECRET",
    "GOOGLE_ADS_DEVELOPER_TOKEN",
    "GOOGLE_ADS_CLIENT_SECRET",
    "GOOGLE_ADS_REFRESH_TOKEN",
    "OPENAI_API_KEY",
    "META_WEBHOOK_VERIFY_TOKEN",
    "INCOMING_WEBHOOK_SECRETS",
)


class Settings(BaseModel):
    """Everything a function needs to know about its environment (read with :func:`get_settings`)."""

    model_config = ConfigDict(extra="ignore")

    environment: str = Field("local", alias="WARROOM_ENV")
    service_name: str = Field("warroom", alias="POWERTOOLS_SERVICE_NAME")
    default_data_mode: DataMode = Field("MOCK", alias="WARROOM_DEFAULT_DATA_MODE")

    database_url: SecretStr | None = Field(None, alias="DATABASE_URL")
    db_pool_min_size: int = Field(0, alias="WARROOM_DB_POOL_MIN")
    db_pool_max_size: int = Field(4, alias="WARROOM_DB_POOL_MAX")
    # How long a request waits for a connection before it answers 503.
    db_connect_timeout_s: float = Field(3.0, alias="WARROOM_DB_CONNECT_TIMEOUT_S")
    # Set on every pooled session, so one slow or stuck transaction answers 503 instead of stalling every
    # request behind it until Lambda's timeout (API Gateway gives up after 29 s). 0 turns one off.
    # The role the functions act as (migration 0011): it owns no table and may only append to audit_logs.
    # Empty keeps the login's own role (for a DATABASE_URL that is already a least-privilege login).
    db_role: str = Field("warroom_app", pattern=r"^[a-z_][a-z0-9_]{0,62}$|^$", alias="WARROOM_DB_ROLE")
    db_statement_timeout_ms: int = Field(15_000, ge=0, alias="WARROOM_DB_STATEMENT_TIMEOUT_MS")
    db_lock_timeout_ms: int = Field(5_000, ge=0, alias="WARROOM_DB_LOCK_TIMEOUT_MS")
    db_idle_in_transaction_timeout_ms: int = Field(30_000, ge=0, alias="WARROOM_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS")
    redis_url: str | None = Field(None, alias="REDIS_URL")
    redis_timeout_s: float = Field(0.5, alias="WARROOM_REDIS_TIMEOUT_S")

    jwt_secret: SecretStr | None = Field(None, alias="JWT_SECRET")
    jwt_issuer: str = Field("warroom", alias="WARROOM_JWT_ISSUER")
    jwt_audience: str = Field("warroom-api", alias="WARROOM_JWT_AUDIENCE")
    access_token_ttl_s: int = Field(900, alias="WARROOM_ACCESS_TOKEN_TTL_S")
    # Sign-in (warroom.auth): refresh tokens live 7 days (the seed), extended by each rotation.
    refresh_token_ttl_s: int = Field(604_800, alias="WARROOM_REFRESH_TOKEN_TTL_S")
    # A session's absolute lifetime (ASVS 5.0 7.3.2): refreshing moves its expiry, never past this age.
    session_max_age_s: int = Field(30 * 86_400, gt=0, alias="WARROOM_SESSION_MAX_AGE_S")
    login_max_failures_per_account: int = Field(5, alias="WARROOM_LOGIN_MAX_FAILURES_PER_ACCOUNT")
    # Higher than per account: a campaign office signs in from behind one NAT address.
    login_max_failures_per_ip: int = Field(20, alias="WARROOM_LOGIN_MAX_FAILURES_PER_IP")
    login_lockout_window_s: int = Field(900, alias="WARROOM_LOGIN_LOCKOUT_WINDOW_S")
    # Verification and reset emails: the SES identity they come from and the dashboard their links open.
    email_sender: str = Field("War Room <no-reply@warroom.local>", alias="WARROOM_EMAIL_SENDER")
    app_url: str = Field("http://localhost:5173", alias="WARROOM_APP_URL")

    secrets_arn: str | None = Field(None, alias="WARROOM_SECRETS_ARN")
    ssm_prefix: str | None = Field(None, alias="WARROOM_SSM_PREFIX")
    secrets_max_age_s: int = Field(300, alias="WARROOM_SECRETS_MAX_AGE_S")

    # Sign-up, password reset and verification resends, per hour: per source address and per target domain.
    outgoing_email_per_ip_per_hour: int = Field(10, ge=1, alias="WARROOM_OUTGOING_EMAIL_PER_IP_PER_HOUR")
    outgoing_email_per_domain_per_hour: int = Field(30, ge=1, alias="WARROOM_OUTGOING_EMAIL_PER_DOMAIN_PER_HOUR")
    # Set by the local cloud (as by `sam local`): plain http on localhost, so no HSTS.
    sam_local: bool = Field(False, alias="AWS_SAM_LOCAL")
    uploads_bucket: str | None = Field(None, alias="WARROOM_UPLOADS_BUCKET")
    # Where the audit chain's head is anchored (S3 Object Lock): see warroom.audit.anchor.
    audit_anchor_bucket: str | None = Field(None, alias="WARROOM_AUDIT_ANCHOR_BUCKET")
    document_queue_url: str | None = Field(None, alias="WARROOM_DOCUMENT_QUEUE_URL")
    websocket_management_endpoint: str | None = Field(None, alias="WARROOM_WS_MANAGEMENT_ENDPOINT")
    realtime_fanout_queue_url: str | None = Field(None, alias="WARROOM_REALTIME_FANOUT_QUEUE_URL")
    auth_email_queue_url: str | None = Field(None, alias="WARROOM_AUTH_EMAIL_QUEUE_URL")
    # Outgoing webhooks (warroom.webhooks): broadcasts hand their events to this queue; a delivery that used up
    # its attempts is copied to the dead-letter queue (the consumer's own, which also catches poison messages).
    webhook_queue_url: str | None = Field(None, alias="WARROOM_WEBHOOK_QUEUE_URL")
    webhook_dlq_url: str | None = Field(None, alias="WARROOM_WEBHOOK_DLQ_URL")
    webhook_inbox_queue_url: str | None = Field(None, alias="WARROOM_WEBHOOK_INBOX_QUEUE_URL")
    # The queues /metrics/system reports on: "LogicalId=url,..." from the template (warroom.metrics.system).
    metrics_queue_urls: str = Field("", alias="WARROOM_METRICS_QUEUE_URLS")

    # Mentionlytics: v1 takes the token as ?token=, v2 as a bearer token renewed with the refresh token.
    mentionlytics_api_token: SecretStr | None = Field(None, alias="MENTIONLYTICS_API_TOKEN")
    mentionlytics_refresh_token: SecretStr | None = Field(None, alias="MENTIONLYTICS_REFRESH_TOKEN")
    mentionlytics_base_url: str = Field("https://app.mentionlytics.com/api/", alias="WARROOM_MENTIONLYTICS_BASE_URL")
    mentionlytics_project: str = Field("default", alias="WARROOM_MENTIONLYTICS_PROJECT")

    # Meta Marketing API (warroom.campaigns): the ad accounts to read (comma-separated, with or without act_),
    # a token with ads_read, and the app secret for appsecret_proof when the app requires it.
    meta_access_token: SecretStr | None = Field(None, alias="META_ACCESS_TOKEN")
    meta_app_secret: SecretStr | None = Field(None, alias="META_APP_SECRET")
    meta_ad_account_ids: str = Field("", alias="WARROOM_META_AD_ACCOUNT_IDS")
    meta_base_url: str = Field("https://graph.facebook.com", alias="WARROOM_META_BASE_URL")
    # Incoming webhooks (warroom.webhooks.incoming): Meta's subscription handshake token, and the Standard
    # Webhooks secrets of the other senders as a JSON object {"<service>": "whsec_..."}.
    meta_webhook_verify_token: SecretStr | None = Field(None, alias="META_WEBHOOK_VERIFY_TOKEN")
    incoming_webhook_secrets: SecretStr | None = Field(None, alias="INCOMING_WEBHOOK_SECRETS")
    # Google Ads API (REST): an OAuth2 client and a refresh token granted for the adwords scope; the developer
    # token only when the account still needs one, login-customer-id only through a manager account.
    google_ads_customer_id: str | None = Field(None, alias="WARROOM_GOOGLE_ADS_CUSTOMER_ID")
    google_ads_login_customer_id: str | None = Field(None, alias="WARROOM_GOOGLE_ADS_LOGIN_CUSTOMER_ID")
    google_ads_client_id: str | None = Field(None, alias="WARROOM_GOOGLE_ADS_CLIENT_ID")
    google_ads_client_secret: SecretStr | None = Field(None, alias="GOOGLE_ADS_CLIENT_SECRET")
    google_ads_refresh_token: SecretStr | None = Field(None, alias="GOOGLE_ADS_REFRESH_TOKEN")
    google_ads_developer_token: SecretStr | None = Field(None, alias="GOOGLE_ADS_DEVELOPER_TOKEN")
    google_ads_base_url: str = Field("https://googleads.googleapis.com", alias="WARROOM_GOOGLE_ADS_BASE_URL")
    google_ads_token_url: str = Field("https://oauth2.googleapis.com/token", alias="WARROOM_GOOGLE_ADS_TOKEN_URL")

    # OpenAI (warroom.intelligence): the model is configuration, never hard-coded; the base URL points the
    # official SDK at a local fake in tests and `warroom dev`.
    openai_api_key: SecretStr | None = Field(None, alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(None, alias="WARROOM_OPENAI_BASE_URL")
    openai_model: str = Field("gpt-4o-mini", alias="WARROOM_OPENAI_MODEL")
    openai_timeout_s: float = Field(20.0, gt=0, alias="WARROOM_OPENAI_TIMEOUT_S")
    openai_max_retries: int = Field(2, ge=0, alias="WARROOM_OPENAI_MAX_RETRIES")

    cors_allow_origin: str = Field("*", alias="WARROOM_CORS_ALLOW_ORIGIN")
    max_body_bytes: int = Field(1_048_576, alias="WARROOM_MAX_BODY_BYTES")
    # Per-request timings are written in batches, never on the request's own path.
    perf_flush_interval_s: float = Field(5.0, alias="WARROOM_PERF_FLUSH_INTERVAL_S")
    perf_flush_batch_size: int = Field(200, alias="WARROOM_PERF_FLUSH_BATCH")
    migrations_dir: str | None = Field(None, alias="WARROOM_MIGRATIONS_DIR")
    functions_dir: str | None = Field(None, alias="WARROOM_FUNCTIONS_DIR")

    # Request quotas (warroom.core.quotas): the seed's 1000 requests/hour per API key, and a generous
    # per-user limit for bearer tokens (0 turns it off). A key lookup is cached this long per container,
    # which is also how long a revoked key may keep working in other containers.
    api_key_rate_limit_per_hour: int = Field(1000, ge=1, alias="WARROOM_API_KEY_RATE_LIMIT_PER_HOUR")
    user_rate_limit_per_hour: int = Field(10_000, ge=0, alias="WARROOM_USER_RATE_LIMIT_PER_HOUR")
    api_key_cache_ttl_s: float = Field(30.0, ge=0, alias="WARROOM_API_KEY_CACHE_TTL_S")
    # Audit exports (warroom.audit.export): answered in the body up to this size (Lambda answers at most
    # 6 MB, JSON-escaped), larger ones through a presigned S3 download; more rows than the cap must be narrowed.
    audit_export_inline_max_bytes: int = Field(4_000_000, ge=0, alias="WARROOM_AUDIT_EXPORT_INLINE_MAX_BYTES")
    audit_export_max_rows: int = Field(200_000, ge=1, alias="WARROOM_AUDIT_EXPORT_MAX_ROWS")


def _secret_values(settings: Settings) -> dict[str, str]:
    """Fetch the secret values from Secrets Manager / SSM when configured (Powertools caches them)."""
    values: dict[str, str] = {}
    if settings.secrets_arn:
        from aws_lambda_powertools.utilities import parameters

        secret = parameters.get_secret(settings.secrets_arn, transform="json", max_age=settings.secrets_max_age_s)
        # A nested object (INCOMING_WEBHOOK_SECRETS written as JSON rather than as a string) stays JSON.
        values.update(
            {
                k: json.dumps(v) if isinstance(v, dict | list) else str(v)
                for k, v in secret.items()
                if k in SECRET_NAMES and v not in (None, "")
            }
        )
    if settings.ssm_prefix:
        from aws_lambda_powertools.utilities import parameters

        found = parameters.get_parameters(
            settings.ssm_prefix, decrypt=True, max_age=settings.secrets_max_age_s, raise_on_transform_error=False
        )
        values.update({k: v for k, v in found.items() if k in SECRET_NAMES and k not in values})
    return values


@functools.cache
def get_settings() -> Settings:
    """The settings of this container, read once (a Lambda container serves many invocations)."""
    environment = {name.upper(): value for name, value in os.environ.items()}
    settings = Settings.model_validate(environment)
    remote = _secret_values(settings)
    if not remote:
        return settings
    return Settings.model_validate({**environment, **remote})


def reset_settings() -> None:
    """Forget the cached settings (tests change the environment between cases)."""
    get_settings.cache_clear()
