"""Inbound channels: SendGrid Inbound Parse email and helpdesk webhooks become cancellation
requests, or wait in triage for a person (pure rules in `parse`, `classify`, `matching`,
`mapping` and `signatures`; queries in `store`; SendGrid's signed parse check in
`sendgrid_signed`)."""
