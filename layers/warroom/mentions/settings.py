"""The mention domain's global settings (registered when :mod:`warroom.system.settings` loads)."""

from __future__ import annotations

from typing import Literal

from warroom.system.settings import register_setting

register_setting(
    "mentionlytics_api_version",
    Literal["v1", "v2"],
    "v2",
    "Mentionlytics API version the live source speaks (v1 is deprecated by the vendor).",
)
