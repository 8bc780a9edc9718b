"""Exports and erasure (§6): writers and report pure; catalogue, exporter, erasure do I/O."""
