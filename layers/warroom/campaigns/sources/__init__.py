"""Paid-campaign sources: one :class:`CampaignSource` protocol (``base``) and a connector per platform.

``meta`` reads the Meta Marketing API (Graph); each connector answers typed :class:`CampaignRecord` and
:class:`DailyMetrics` values and raises :class:`SourceUnavailable` naming the cause.
"""
