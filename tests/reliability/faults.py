"""tests/reliability/faults.py - the faults the campaign injects, one at a
time. Each returns (t_start, t_end, detail): t_end is the moment the cause
is gone (Redis answers again, the process resumes, livegate answers again;
for a kill that livegate or the clients recover from by themselves, the
kill itself), from which the checker times convergence.
"""

import os
import signal
import time

from eventlog import now
from harness import wait_until

KINDS = ("redis_kill", "redis_hang", "pubsub_kill", "worker_kill", "livegate_restart", "client_stall")

WORKER_WAIT = 30.0      # seconds for main to bring the workers back before a worker kill
LIVEGATE_STOP_S = 15.0  # SIGTERM to exit (drain included)
LIVEGATE_START_S = 15.0


class FaultError(Exception):
    """A fault could not be injected or the system did not come back."""


class Faults:
    """stack: the campaign's processes (campaign.Stack); rng: random.Random;
    size: the run's parameters (campaign.SIZES)."""

    def __init__(self, stack, rng, size):
        self.stack, self.rng, self.size = stack, rng, size

    def inject(self, kind):
        return getattr(self, kind)()

    def redis_kill(self):
        """SIGKILL, a pause, then a new redis-server on the same port."""
        redis = self.stack.redis
        down = self.rng.uniform(*self.size["redis_down_s"])
        t0 = now()
        redis.kill()
        time.sleep(down)
        redis.start()
        return t0, now(), f"down={down:.2f}s"

    def redis_hang(self):
        """SIGSTOP, then SIGCONT: a hung server whose sockets stay open."""
        pid = self.stack.redis.proc.pid
        hang = self.rng.uniform(*self.size["redis_hang_s"])
        t0 = now()
        os.kill(pid, signal.SIGSTOP)
        try:
            time.sleep(hang)
        finally:
            os.kill(pid, signal.SIGCONT)
        return t0, now(), f"hang={hang:.2f}s"

    def pubsub_kill(self):
        """CLIENT KILL TYPE pubsub: Redis drops every subscriber link."""
        t0 = now()
        out = self.stack.redis.cli("CLIENT", "KILL", "TYPE", "pubsub").strip()
        if not out.isdigit():
            raise FaultError(f"CLIENT KILL TYPE pubsub answered {out!r}")
        return t0, now(), f"killed={out}"

    def worker_kill(self):
        """SIGKILL of one worker; livegate's main starts a new one."""
        lg = self.stack.livegate
        want = self.stack.workers

        def all_workers():
            pids = lg.worker_pids()
            return pids if len(pids) == want else None
        pids = wait_until(all_workers, WORKER_WAIT, what=f"{want} livegate workers")
        pid = self.rng.choice(pids)
        t0 = now()
        os.kill(pid, signal.SIGKILL)
        return t0, now(), f"pid={pid}"

    def livegate_restart(self):
        """SIGTERM (drain), exit, a pause, start again on the same ports."""
        lg = self.stack.livegate
        pause = self.rng.uniform(*self.size["restart_pause_s"])
        t0 = now()
        status = lg.stop(timeout=LIVEGATE_STOP_S)
        if status != 0:
            raise FaultError(f"livegate exited with {status} on SIGTERM")
        time.sleep(pause)
        self.stack.start_livegate()
        return t0, now(), f"pause={pause:.2f}s"

    def client_stall(self):
        """SIGSTOP of one client process (its tabs stop reading), sometimes
        with a burst on a channel its tabs follow, so that livegate's queue
        for them fills; then SIGCONT."""
        k = self.rng.randrange(len(self.stack.tab_procs))
        proc = self.stack.tab_procs[k]
        lo, hi = self.size["stall_s"]
        stall = self.rng.uniform(lo, hi)
        if self.rng.random() < self.size["long_stall_share"]:
            stall = self.rng.uniform(*self.size["long_stall_s"])
        burst = self.rng.random() < self.size["burst_share"]
        t0 = now()
        os.kill(proc.pid, signal.SIGSTOP)
        try:
            if burst:
                ch = self.stack.busiest_channel(k)
                self.stack.publisher_command(f"burst {ch} {self.size['burst']}")
            time.sleep(stall)
        finally:
            os.kill(proc.pid, signal.SIGCONT)
        return t0, now(), f"proc={k} stall={stall:.2f}s burst={'yes' if burst else 'no'}"
