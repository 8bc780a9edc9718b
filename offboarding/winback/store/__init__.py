"""Win-back's queries: signals, candidates, outreach, outcomes. Not pure: takes a Session."""
