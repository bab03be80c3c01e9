"""What gunicorn's master and workers run around the app: the worker class, the
access logger, the drain flag. It may import gunicorn, gevent, `service.settings`,
`service.reason_phrases` and the standard library; never Flask, prometheus_client or
`service.web` (setup.cfg's import contracts hold it).
"""
