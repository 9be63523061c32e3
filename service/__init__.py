"""certledger: the certificate and attendance ledger for IPS co-reflection sessions."""
