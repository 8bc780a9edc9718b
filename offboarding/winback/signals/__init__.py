"""Win-back signals: the model and its vectorised checks are pure; `files` reads local or s3://."""
