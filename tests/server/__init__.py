"""service/server/: the gunicorn worker's mechanisms, in-process and on a real gunicorn."""
