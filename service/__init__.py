"""ibdevserver: serve the status of a container's first process over HTTP.

The package is split by the process that runs each part:

- `service.server`: gunicorn's master and workers (the worker class, the access
  logger, the drain flag). No Flask and no prometheus_client: the master imports
  this before the metrics directory is set (tests/test_rooms.py holds the rule).
- `service.web`: the Flask app. The master loads it once, after setting the metrics
  directory, and the workers it forks share it (`gunicorn_conf.on_starting`).
- `service.procfs`: pure code, text and file trees in, typed data out; it imports
  neither of the others.
- At the top: `gunicorn_conf` and `healthcheck`, which the Dockerfile, compose and
  the Deployment name, and `settings`, which all of them read.
"""
