"""The HTTP layer: parse, call the desk or the ledger, answer. No rules and no SQL live here."""
