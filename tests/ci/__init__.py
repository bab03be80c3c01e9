"""CI's files: the workflow, the scripts, the hooks, Renovate."""
