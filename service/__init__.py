"""ibdevserver: serve the status of a container's first process over HTTP.

The application factory lives in `service.app`, not here: gunicorn imports
`service.gunicorn_conf` before any worker starts, and that must not import the
app (and prometheus_client with it) before the metrics directory is set.
"""
