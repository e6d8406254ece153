"""The dashboard's figures that span domains: KPIs from the mention rollups, open crises and campaign spend.

It sits above ``mentions``, ``crisis`` and ``campaigns`` and reads each through its own functions.
"""
