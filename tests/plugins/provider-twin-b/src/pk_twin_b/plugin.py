"""The second provider named ``twin``: the host must leave it out without importing it, so importing it fails."""

raise RuntimeError("pk_twin_b was imported: a provider whose name is taken must not be")
