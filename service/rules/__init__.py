"""The ledger's rules as pure functions over plain data: no HTTP, no SQL, no clock."""
