"""Benchmarks: rtvi-server against stock pipecat, measured in the same run."""
