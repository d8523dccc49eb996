"""Command-line interface: thin click commands with lazy heavy imports."""
