"""Exit feedback and churn patterns: survey, patterns, themes pure; store, survey_tool do I/O."""
