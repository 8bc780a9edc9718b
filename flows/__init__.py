"""Orchestration: the Prefect flows (DAGs, suspends, subflows, scheduling of later stages)."""
