"""The §13 dashboard: pure measures and SVG charts, the HTML page, and the store (not pure)."""
