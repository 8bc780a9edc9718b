"""The web service beside the Prefect server: decision pages behind signed links (not pure)."""
