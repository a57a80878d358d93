"""Consistent snapshots of the database and the uploaded files, with a manifest of SHA-256 hashes."""
