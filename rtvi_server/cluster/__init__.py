"""Session backends beyond one process: worker processes on a host (``--workers``)."""

from rtvi_server.cluster.workers import WorkerBackend

__all__ = ["WorkerBackend"]
