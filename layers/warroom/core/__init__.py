"""Cross-cutting building blocks: config, db, cache, errors, http glue, security."""
