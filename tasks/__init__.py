"""Side effects as Prefect tasks, one module per stage: retries on transient faults, idempotent."""
