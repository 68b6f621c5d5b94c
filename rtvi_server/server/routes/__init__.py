"""The route modules; each builds one router over the session backend."""
