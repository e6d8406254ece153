"""The documents domain: campaign documents uploaded to S3, registered, later searched by meaning."""
