"""The domain, one subpackage per capability; the shared nouns, policy and settings at the top."""
