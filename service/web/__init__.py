"""The Flask app: the factory, its views, probes, content negotiation and metrics.

gunicorn's master loads it once, before it forks the workers that serve it (and tests
import it). It may import Flask, prometheus_client, `service.procfs`, `service.settings`,
`service.reason_phrases` and the drain flag of `service.server.lifecycle` (setup.cfg's
import contracts hold it).
"""
