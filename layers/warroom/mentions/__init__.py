"""Social listening: mention sources (mock and Mentionlytics), idempotent ingest, rollups and queries.

Modules, each with its own docstring and example:

* :mod:`.sources` -- the ``MentionSource`` protocol, :class:`~.sources.mock.MockSource` and
  :class:`~.sources.mentionlytics.MentionlyticsSource`; the data mode picks one (``source_for_mode``).
* :mod:`.ingest` -- the one pipeline both modes use: bulk insert, rollups, the mention stream. It
  stores and returns; "then detect crises on the new window" is :mod:`warroom.pipelines.listening`.
* :mod:`.sync` -- pulling a source from its cursor (the schedule, ``POST /mentionlytics/sync``, the
  MOCK back-fill of ``warroom dev``).
* :mod:`.queries` -- the list, one mention and the aggregates of ``/api/v1/mentionlytics``.

Nothing is imported here, so a function pays only for the modules its routes use.
"""
