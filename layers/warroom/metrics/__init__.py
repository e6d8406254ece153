"""Metrics: API performance from the request timings' rollups, and the system's operational state.

``histogram`` (the fixed latency buckets and percentiles from them), ``rollups`` (``performance_logs`` rolled
up per minute, 10 minutes and hour behind a commit-ordered watermark, pruned), ``api`` (``GET /metrics/api``),
``system`` (``GET /metrics/system``: queues, sockets, jobs, sources, health, data mode), ``job`` (the 1-minute
``MetricsJobFunction``: roll up, prune, snapshot, ``system:health-change``). It sits above ``system`` (health)
and ``realtime`` and reads each through its own functions.
"""
