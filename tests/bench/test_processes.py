"""The benchmark's CPU and memory readings cover a server's whole process tree."""

import os
import subprocess
import sys

import pytest

from bench.processes import CpuMeter, proc_rss_mb, process_tree, thread_names

# A "worker": burns CPU, says so on its stdout, then idles until it is killed.
WORKER = (
    "import sys, time\n"
    "end = time.process_time() + 0.5\n"
    "while time.process_time() < end: pass\n"
    "print('burnt', flush=True)\n"
    "time.sleep(60)\n"
)
# A "server": starts the worker with its own stdout, then only waits.
SERVER = (
    "import subprocess, sys\n"
    "worker = subprocess.Popen([sys.executable, '-c', sys.argv[1]])\n"
    "worker.wait()\n"
)


def test_a_worker_s_cpu_and_memory_count_for_its_server():
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, WORKER], stdout=subprocess.PIPE, text=True
    )
    try:
        meter = CpuMeter(server.pid)  # the worker starts two interpreter starts later
        assert server.stdout is not None
        assert server.stdout.readline().strip() == "burnt"
        tree = process_tree(server.pid)
        assert len(tree) == 2
        assert server.pid in tree
        assert os.getpid() not in tree
        assert meter.server() >= 0.4  # the worker's burn, though the server only waited
        assert 0.4 <= meter.busiest() <= meter.server()
        assert proc_rss_mb(server.pid) > proc_rss_mb(tree[1]) > 0  # both interpreters
    finally:
        for pid in process_tree(server.pid)[::-1]:
            os.kill(pid, 9)
        server.wait(10)


def test_thread_names_name_the_threads_of_a_python_process():
    code = (
        "import threading, time\n"
        "threading.Thread(target=time.sleep, args=(60,), name='lazy-probe', daemon=True).start()\n"
        "print('up', flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "up"
        names = thread_names(proc.pid)
        if names is None:
            pytest.skip("py-spy cannot read processes here")
        assert "MainThread" in names
        assert "lazy-probe" in names
    finally:
        proc.kill()
        proc.wait()
