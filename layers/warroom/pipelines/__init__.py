"""Orchestration: modules that string domains together, above every domain they use and below ``functions/``.

* :mod:`.listening` -- "ingest (or sync), then detect crises on the new window": the one hand-off from
  social listening to crisis detection, used by ``SourceSyncFunction``, ``POST /mentionlytics/sync``,
  the simulator and (later) incoming webhooks.
* :mod:`.simulate` -- MOCK-only scenarios pushed through that same path.

A domain never calls another domain's pipeline-level work itself: ``mentions.ingest`` stores and returns,
``crisis.detection`` detects over a window it is given; only here are the two put in sequence.
"""
