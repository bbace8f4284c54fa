"""Landing-file loader: contracts, quarantine, load audit, idempotency."""
