"""service/procfs/: the status parser and the posture checks, on samples and fake trees."""
