"""The hub: the central linkage service. It never sees PII and never holds the linkage
secret; it stores encodings, links them, and keeps the consent ledger."""
