"""How the flows are deployed: schedules, work pool, parameters."""

#: The modules of every deployed flow: what the warm-start server imports once for all runs
#: (`offboarding.adapters.warm_start`); a test keeps it equal to the deployments' entrypoints.
FLOW_MODULES = (
    "flows.dashboard_flow",
    "flows.early_warning_flow",
    "flows.escalation_flow",
    "flows.export_flow",
    "flows.offboarding_flow",
    "flows.recovery_flow",
    "flows.stages_flow",
    "flows.sweeper_flow",
    "flows.webhook_flow",
    "flows.winback_flow",
)
