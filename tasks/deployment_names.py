"""Deployment names in one place: flows and tasks schedule runs by these."""

OFFBOARDING = "offboarding/offboarding"
STAGES = "offboarding-stages/offboarding-stages"
ESCALATION = "offboarding-escalation/offboarding-escalation"
SWEEPER = "offboarding-sweeper/daily-sweeper"
EXPORT = "offboarding-export/offboarding-export"
WINBACK = "winback-reminders/winback-nightly"
EARLY_WARNING = "early-warning/early-warning-daily"
