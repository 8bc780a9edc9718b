"""Deployment names in one place: flows schedule each other by these."""

OFFBOARDING = "offboarding/offboarding"
STAGE = "offboarding-stage/offboarding-stage"
ESCALATION = "offboarding-escalation/offboarding-escalation"
SWEEPER = "offboarding-sweeper/daily-sweeper"
EXPORT = "offboarding-export/offboarding-export"
WINBACK = "winback-reminders/winback-nightly"
