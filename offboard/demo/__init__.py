"""`offboard demo`: scripted cancellations on a fresh embedded stack, run to their end."""

from offboard.demo.runner import run_demo

__all__ = ["run_demo"]
