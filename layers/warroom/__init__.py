"""War Room shared layer: every function's domain logic lives in this package.

Organised by domain (``system``, ``auth``, ``audit``, ``realtime``, ...) plus a small ``core``
(configuration, database, cache, errors, HTTP glue, security) that every domain uses.
"""

__version__ = "0.1.0"
