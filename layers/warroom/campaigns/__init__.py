"""Paid campaigns (Meta, Google Ads): what is stored of them in ``campaign_data`` and the figures read from it.

Today this domain only reads (the connectors and routes are the paid-campaigns issue); other domains --
the dashboard KPIs and the daily brief -- get campaign figures through its functions, never from the table.
"""
