"""Product data the scan reads: table schemas and their checks pure; `files` reads the catalogue."""
