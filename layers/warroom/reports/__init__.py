"""Reports: five report types built from the stored data, their CSV / PDF / JSON exports, and scheduled reports.

Modules, each with its own docstring and example:

* :mod:`.models` -- requests, answers, and one parameters / data / report model per type (the data models are
  the documented JSON schemas of ``reports.generated_data``, in the OpenAPI document).
* :mod:`.generate` -- each type built through the other domains' public functions (mentions, crisis, campaigns,
  intelligence), never their tables.
* :mod:`.store` -- create, list, read, delete; who may see and delete a report.
* :mod:`.tables` -- a report or a query as titled tables of rows, streamed (the one shape every format writes).
* :mod:`.exports` -- CSV (formula injection neutralised), JSON and PDF (:mod:`.pdf`, fpdf2) files; inline answers
  or a job (SQS -> ``ReportExportFunction`` -> S3, ``report:ready``).
* :mod:`.schedules` -- daily or weekly subscriptions in the campaign's time zone, built once per period, emailed.
* :mod:`.settings` -- row and time limits of exports.

Nothing is imported here, so a function pays only for the modules its routes use (fpdf2 only on the PDF path).
"""
