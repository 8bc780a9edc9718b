"""Adapters named after what they talk to: S3, the SeaweedFS server, reportlab PDF. Not pure."""
