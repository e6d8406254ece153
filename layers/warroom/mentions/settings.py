"""The mention domain's global settings (composed into the settings routes by :mod:`warroom.system.settings`)."""

from __future__ import annotations

from typing import Literal

from warroom.core.settings import define_setting

MENTIONLYTICS_API_VERSION = define_setting(
    "mentionlytics_api_version",
    Literal["v1", "v2"],
    "v2",
    "Mentionlytics API version the live source speaks (v1 is deprecated by the vendor).",
)
SETTINGS = (MENTIONLYTICS_API_VERSION,)
