"""A provider whose manifest is invalid (a local provider without ``engine_host``; a timeout that is no number)."""

raise RuntimeError("pk_bad_manifest was imported: a provider with an invalid manifest must not be")
