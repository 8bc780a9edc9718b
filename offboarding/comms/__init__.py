"""Messages: rendering and locale formats pure; mailer port, ledger, SendGrid, outbox I/O."""
