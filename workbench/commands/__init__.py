"""CLI command modules; each attaches itself to the groups in workbench.cli."""
