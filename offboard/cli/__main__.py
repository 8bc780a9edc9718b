"""`python -m offboard.cli`: the same app as the `offboard` entry point."""

from offboard.cli import app

app()
