"""How the flows are deployed: schedules, work pool, parameters."""
