"""The `pprl` command line: one entry point for every group (node, hub, consent, keys)."""
