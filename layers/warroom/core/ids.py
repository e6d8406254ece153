"""Resource ids in paths: UUIDs, and anything else names no resource.

Example
-------
>>> user_id = uuid_or_not_found(path_value, "user")     # 404 for "42" as for an unknown UUID

A malformed id is answered 404, like a well-formed id that matches nothing: the id space is opaque
to clients, and the same answer for both tells a prober nothing about the format.
"""

from __future__ import annotations

import uuid

from warroom.core.errors import NotFound


def uuid_or_not_found(value: str, resource: str) -> str:
    """``value`` as a canonical UUID string, or :class:`NotFound` naming ``resource``."""
    try:
        return str(uuid.UUID(value))
    except (ValueError, TypeError, AttributeError) as error:
        raise NotFound(f"No {resource} with this id.", details={"resource": resource}) from error
