"""Everything a certificate is made of once the ledger decided to issue it: PDF, QR code, signed link."""
