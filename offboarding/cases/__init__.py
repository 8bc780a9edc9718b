"""Cases (§1–§7): rules pure (save, approvals, timeline, billing, retention); store I/O."""
