"""Paid campaigns (Meta, Google Ads): sources, the sync, the stored campaigns and days, and what is read from them.

* ``sources``: one :class:`~warroom.campaigns.sources.CampaignSource` protocol, a mock and a live connector per
  platform (the data mode swaps the sources, never the pipeline);
* ``sync`` / ``store``: a source from its cursor into ``campaigns``, ``campaign_days`` and ``campaign_ad_sets``
  (idempotent upserts; restated days replaced; the seed's ``campaign_data`` mirrored);
* ``queries`` / ``pacing`` / ``findings``: what the routes and the campaign alerts read;
* ``spend``: the figures other domains (the dashboard KPIs, the daily brief) take, never the tables themselves.

Money is :class:`~decimal.Decimal` from the connector to the answer (a decimal string in JSON): never a float.
"""
