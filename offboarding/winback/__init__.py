"""Win-back (§10–§11, §13): rules, selection, rates, tag pure; store I/O; signals, sample mixed."""
