"""deploy/: the Kubernetes manifests, rendered and checked offline."""
