"""Feedback's queries: responses, interviews, patterns, notices. Not pure: takes a Session."""
