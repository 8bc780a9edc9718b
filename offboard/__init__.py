"""The application: the `offboard` CLI, the service it calls, the embedded stack, the demo."""
