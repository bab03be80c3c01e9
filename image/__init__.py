"""What builds the runtime image's root and installs into it (run by the Dockerfile)."""
