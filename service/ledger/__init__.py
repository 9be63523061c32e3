"""The SQLite ledger: the only package that knows SQL."""
