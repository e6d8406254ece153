"""The Intelligence Hub: AI analysis of texts and mentions, and the daily brief.

Modules, each with its own docstring and example:

* :mod:`.models` -- request and response models; :class:`~.models.AnalysisResult` and
  :class:`~.models.BriefNarrative` are also the JSON schemas OpenAI must answer in.
* :mod:`.analysis` -- ``POST /intelligence/analyze``: input, cache, and the MOCK / LIVE switch.
* :mod:`.local_analysis` -- the MOCK path: VADER, keywords, entities, rule-based risk, template response.
* :mod:`warroom.core.openai_client` -- the LIVE path: the official ``openai`` SDK, structured outputs,
  ``ai_usage`` (in the core: documents embed and summarise through it too).
* :mod:`.briefing` -- the daily brief: figures, narrative, storage, broadcast, email, the latest one.

Decisions:

* **Who may analyse.** ``POST /analyze`` takes the ``user`` role: it only reads, but in LIVE every call
  costs money, so readonly accounts (and readonly API keys, e.g. a dashboard wall) get a 403. Reading the
  brief takes ``readonly``; ``?generate=true`` takes ``manager`` (403 below), as it spends an OpenAI call
  and mails subscribers when it creates the day's brief.
* **Input.** ``text`` (1 to 20,000 characters, not blank) and/or ``mention_ids`` (1 to 100 UUIDs,
  duplicates ignored); neither, blank, too long or too many is a 422 naming the field. Ids that name no
  stored mention are a **404** listing them in ``details.missing_mention_ids``: the request is well formed,
  the resources are missing, as for ``GET /mentionlytics/mentions/{id}``.
* **The mode swaps the analyser, never the pipeline.** MOCK answers from local rules (model
  ``warroom-local-1``), LIVE from OpenAI (model ``WARROOM_OPENAI_MODEL``); both return the same shape with
  ``mode``, ``model`` and ``cached``.
* **Cache.** Identical requests (same mode, model, normalised text, set of ids) are answered from Redis for
  1 hour with ``cached: true``; only successful answers are cached. In LIVE a cached answer is recorded in
  ``ai_usage`` with ``cached = true`` and no tokens, so usage reports show what the cache saved.
* **Failures.** OpenAI down, slow (``WARROOM_OPENAI_TIMEOUT_S``), rejecting the key, rate-limiting, or
  answering something that does not match the schema: a 503 in the one error shape with
  ``details: {"dependency": "openai", "cause": ...}`` and ``Retry-After`` (OpenAI's own on a 429). LIVE
  without ``OPENAI_API_KEY``: a 503 with cause ``not_configured``. Messages never quote the vendor, whose
  401 text contains part of the key. The SDK retries 429/5xx/timeouts ``WARROOM_OPENAI_MAX_RETRIES`` times.
* **Daily brief.** One ``reports`` row per campaign day (``report_type = 'daily_brief'``, ``report_date``
  in the ``timezone`` setting), built at 06 local time by the hourly schedule, describing the previous
  campaign day; see :mod:`.briefing` for the figures, the idempotence and "generate now" (which rebuilds
  today's brief in place, is audited, and answers 200). In LIVE a failing OpenAI never loses the brief:
  the template narrative is used and ``narrative_note`` says why.

Nothing is imported here, so a function pays only for the modules its routes use (``openai`` itself is
imported only on the LIVE path).
"""
