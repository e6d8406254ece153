"""The system domain: global settings, the data mode, and health."""
