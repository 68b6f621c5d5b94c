"""What the ``rtvi-server`` command sets up for its process before serving."""

import os
import subprocess
import sys

THREADS_AFTER_NUMPY = (
    "import os, sys\n"
    "if sys.argv[1] == 'limit':\n"
    "    from rtvi_server.cli import limit_blas_threads\n"
    "    limit_blas_threads()\n"
    "import numpy\n"
    "numpy.ones((256, 256)) @ numpy.ones((256, 256))\n"
    "print(len(os.listdir('/proc/self/task')))\n"
)


def threads_after_numpy(mode: str, env: dict[str, str]) -> int:
    result = subprocess.run(
        [sys.executable, "-c", THREADS_AFTER_NUMPY, mode],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return int(result.stdout.strip())


def test_the_server_process_keeps_numpy_to_one_blas_thread():
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    assert threads_after_numpy("limit", env) == 1  # the main thread, no BLAS pool
    if (os.cpu_count() or 1) > 1:  # where BLAS would start a pool, it does without the limit
        assert threads_after_numpy("plain", env) > 1


def test_an_operator_s_own_blas_thread_count_is_kept():
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "2"}
    assert threads_after_numpy("limit", env) == 2 or (os.cpu_count() or 1) < 2
