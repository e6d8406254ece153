"""Identity: password hashing and users (the auth routes arrive with the identity issue)."""
