"""Administration: users (create, role and status, deactivation) and API keys, for admins only."""
