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
"""

from __future__ import annotations

import functools
import os
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DataMode = Literal["MOCK", "LIVE"]

SECRET_NAMES = (
    "DATABASE_URL",
    "JWT_SECRET",
    "MENTIONLYTICS_API_TOKEN",
    "META_ACCESS_TOKEN",
    "GOOGLE_ADS_DEVELOPER_TOKEN",
    "OPENAI_API_KEY",
)


class Settings(BaseSettings):
    """Everything a function needs to know about its environment."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    environment: str = Field("local", alias="WARROOM_ENV")
    service_name: str = Field("warroom", alias="POWERTOOLS_SERVICE_NAME")
    default_data_mode: DataMode = Field("MOCK", alias="WARROOM_DEFAULT_DATA_MODE")

    database_url: SecretStr | None = Field(None, alias="DATABASE_URL")
    db_pool_min_size: int = Field(0, alias="WARROOM_DB_POOL_MIN")
    db_pool_max_size: int = Field(4, alias="WARROOM_DB_POOL_MAX")
    # How long a request waits for a connection before it answers 503.
    db_connect_timeout_s: float = Field(3.0, alias="WARROOM_DB_CONNECT_TIMEOUT_S")
    redis_url: str | None = Field(None, alias="REDIS_URL")
    redis_timeout_s: float = Field(0.5, alias="WARROOM_REDIS_TIMEOUT_S")

    jwt_secret: SecretStr | None = Field(None, alias="JWT_SECRET")
    jwt_issuer: str = Field("warroom", alias="WARROOM_JWT_ISSUER")
    jwt_audience: str = Field("warroom-api", alias="WARROOM_JWT_AUDIENCE")
    access_token_ttl_s: int = Field(900, alias="WARROOM_ACCESS_TOKEN_TTL_S")

    secrets_arn: str | None = Field(None, alias="WARROOM_SECRETS_ARN")
    ssm_prefix: str | None = Field(None, alias="WARROOM_SSM_PREFIX")
    secrets_max_age_s: int = Field(300, alias="WARROOM_SECRETS_MAX_AGE_S")

    uploads_bucket: str | None = Field(None, alias="WARROOM_UPLOADS_BUCKET")
    document_queue_url: str | None = Field(None, alias="WARROOM_DOCUMENT_QUEUE_URL")
    websocket_management_endpoint: str | None = Field(None, alias="WARROOM_WS_MANAGEMENT_ENDPOINT")
    realtime_fanout_queue_url: str | None = Field(None, alias="WARROOM_REALTIME_FANOUT_QUEUE_URL")

    cors_allow_origin: str = Field("*", alias="WARROOM_CORS_ALLOW_ORIGIN")
    max_body_bytes: int = Field(1_048_576, alias="WARROOM_MAX_BODY_BYTES")
    # Per-request timings are written in batches, never on the request's own path.
    perf_flush_interval_s: float = Field(5.0, alias="WARROOM_PERF_FLUSH_INTERVAL_S")
    perf_flush_batch_size: int = Field(200, alias="WARROOM_PERF_FLUSH_BATCH")
    migrations_dir: str | None = Field(None, alias="WARROOM_MIGRATIONS_DIR")
    functions_dir: str | None = Field(None, alias="WARROOM_FUNCTIONS_DIR")


def _secret_values(settings: Settings) -> dict[str, str]:
    """Fetch the secret values from Secrets Manager / SSM when configured (Powertools caches them)."""
    values: dict[str, str] = {}
    if settings.secrets_arn:
        from aws_lambda_powertools.utilities import parameters

        secret = parameters.get_secret(settings.secrets_arn, transform="json", max_age=settings.secrets_max_age_s)
        values.update({k: str(v) for k, v in secret.items() if k in SECRET_NAMES and v not in (None, "")})
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
    settings = Settings()
    remote = _secret_values(settings)
    if not remote:
        return settings
    merged = {name: value for name, value in os.environ.items()}
    merged.update(remote)
    return Settings(**{k: v for k, v in merged.items()})


def reset_settings() -> None:
    """Forget the cached settings (tests change the environment between cases)."""
    get_settings.cache_clear()
