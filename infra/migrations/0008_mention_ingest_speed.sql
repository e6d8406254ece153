-- Bulk mention ingest: fewer and cheaper index entries per stored mention (see warroom/mentions/ingest.py).
--
-- Decisions:
-- * The seed's GIN index on mentions.metadata goes: nothing queries it (crisis_events.metadata is another
--   table), and it cost a GIN insert per mention.
-- * crisis_event_id is NULL until detection links a mention to a crisis; only the linked mentions need an
--   entry. Every lookup is an equality (the list's crisis filter, an alert's linked mentions, the foreign-key
--   check when a crisis is deleted), which implies IS NOT NULL, so the partial index serves each of them.
-- * The three time-ordered b-trees -- (published_at DESC, id DESC), (source, published_at DESC),
--   (country, published_at DESC) -- become one, (published_at, source, country): one b-tree insert per mention
--   instead of three. The list reads it backwards (ORDER BY published_at DESC, then id among equal times by an
--   incremental sort of the few ties) and checks a source or country filter on the index entries themselves,
--   without visiting the rows that do not match; a time window bounds the scan. Ascending, because new
--   mentions are the latest: they land at the right edge (the rightmost fast path, 90/10 page splits), where a
--   DESC index split its left edge 50/50.
-- * The tsvector's GIN index also indexes source and country (btree_gin): a search with a source or country
--   filter is answered by that one index (the per-column b-trees used to be ANDed with it), and so is a
--   source or country filter that matches few or no mentions. The entries go to the GIN's pending list: two
--   keys more per mention cost less than two b-tree inserts.
-- * Per-minute rollups are no longer written for 'country' and 'region' (only per hour; the geo breakdown
--   reads its partial-hour edges from the mentions): existing minute rows of those dimensions go.

DROP INDEX IF EXISTS idx_mentions_metadata;

DROP INDEX IF EXISTS idx_mentions_crisis_event;
CREATE INDEX idx_mentions_crisis_event ON mentions (crisis_event_id) WHERE crisis_event_id IS NOT NULL;

DROP INDEX IF EXISTS idx_mentions_published;
DROP INDEX IF EXISTS idx_mentions_source_published;
DROP INDEX IF EXISTS idx_mentions_country_published;
CREATE INDEX idx_mentions_published ON mentions (published_at, source, country);

CREATE EXTENSION IF NOT EXISTS btree_gin;
DROP INDEX IF EXISTS idx_mentions_content_tsv;
CREATE INDEX idx_mentions_content_tsv ON mentions USING GIN (content_tsv, source, country);

DELETE FROM mention_rollups_minute WHERE dimension IN ('country', 'region');
