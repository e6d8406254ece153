"""Crisis detection and the Alert Center.

Example
-------
>>> from warroom.crisis.detection import detect_crises
>>> outcome = detect_crises(now, window_start=batch_start)       # on ingest: the new window only
>>> outcome.opened, outcome.updated, outcome.resolved
(['6f1c...'], [], [])

Modules:

* :mod:`~warroom.crisis.detector` -- the pure detector over a series of time buckets (no database, no
  clock): the method, its parameters and why are in its docstring.
* :mod:`~warroom.crisis.detection` -- the storage-facing part: reads the per-minute rollups of the
  subjects that matter, feeds the detector, and turns findings into ``crisis_events`` rows (opened,
  updated, resolved), linked mentions, broadcasts, audit rows and alert emails. It runs on every ingest
  (``warroom.pipelines.listening``) and every 5 minutes (``CrisisScanFunction``).
* :mod:`~warroom.crisis.alerts` -- the Alert Center: list, detail with timeline, manual alerts and the
  status machine ``active -> acknowledged -> resolved`` (or ``active -> resolved``).
* :mod:`~warroom.crisis.store` -- the alert row's one reader and the timeline's one writer, below the
  others; other domains read crises through its functions.
* :mod:`~warroom.crisis.settings` -- the domain's settings and their reader.
* The MOCK simulator strings ingest and detection together, so it is orchestration:
  :mod:`warroom.pipelines.simulate`.

Decisions:

* An alert is a ``crisis_events`` row. A detected crisis belongs to a *subject* -- a rollup dimension and
  value: the whole campaign (``all``), a channel (``source``), a ``topic`` or a ``keyword``. Countries and
  regions are not subjects: geography is a breakdown of a crisis, not a crisis of its own.
* One burst shows up under several subjects at once (a healthcare scandal is also a spike of ``all``, of
  ``twitter`` and of the keyword ``medicare``). Findings are handled most specific first (topic, keyword,
  source, all); a finding whose window mentions already belong mostly to another open crisis is recorded
  on that crisis as a related subject instead of opening a second alert.
* At most one open crisis per subject (a partial unique index): new evidence updates it (severity only
  goes up, counts and trigger are refreshed; ``crisis:updated`` is broadcast when the severity rises).
  After a crisis is resolved, its subject is in cooldown (setting ``crisis_cooldown_minutes``) so a
  dying burst does not reopen it at once. A crisis with no new evidence for
  ``crisis_auto_resolve_minutes`` resolves itself (``crisis:resolved``; ``resolved_by`` is empty).
* Acknowledging takes the ``user`` role (anyone on watch); resolving and manual alerts take ``manager``.
* Alert emails go to managers and admins subscribed to ``alerts`` when the severity is at least
  ``alert_email_min_severity``; detection never depends on email or OpenAI.
"""
