"""What follows a change of the data mode: the caches refreshed and every dashboard told.

Reading the mode is :func:`warroom.core.data_mode.get_data_mode` (every domain's sources obey it);
changing it is ``PUT /settings/data-mode`` through :func:`warroom.system.settings.write_setting`, which
commits to PostgreSQL first and then calls :func:`after_data_mode_change`.
"""

from __future__ import annotations

from warroom.core.config import DataMode
from warroom.core.data_mode import cache_data_mode, remember_data_mode
from warroom.realtime import broadcast


def after_data_mode_change(new: DataMode, old: DataMode) -> None:
    """Refresh the caches and tell every dashboard (runs after the change is committed)."""
    cache_data_mode(new)
    remember_data_mode(new)
    if new != old:
        broadcast("system:data-mode-change", {"mode": new, "previous": old})
