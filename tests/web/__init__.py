"""service/web/: the Flask app, through its test client."""
