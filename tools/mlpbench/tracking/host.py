"""This host, as tools/track.py needs it: its machine facts (the same ones a record's Google
Benchmark context carries), its load and steal time, and the machine-wide lock that keeps two
measurements from overlapping."""

import contextlib
import errno
import fcntl
import os
import time

from mlpbench import files as mlpbench_files

LOCK_NAME = "mlpbench-track.lock"


def lock_path():
    """$MLPBENCH_LOCK, else mlpbench-track.lock in the user's runtime folder (never a shared
    world-writable one: mlpbench_files.runtime_folder)."""
    return os.environ.get("MLPBENCH_LOCK") or os.path.join(mlpbench_files.runtime_folder(),
                                                           LOCK_NAME)


def cpuinfo():
    """The first processor's `key : value` fields of /proc/cpuinfo."""
    fields = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():
                    if fields:
                        break  # the first processor's block is enough
                    continue
                key, _, value = line.partition(":")
                fields[key.strip()] = value.strip()
    except OSError:
        pass
    return fields


def logical_cpus():
    """Processors listed in /proc/cpuinfo, as Google Benchmark 1.7 counts them (num_cpus)."""
    try:
        with open("/proc/cpuinfo") as f:
            n = sum(1 for line in f if line.startswith("processor"))
    except OSError:
        n = 0
    return n or os.cpu_count() or 1


def cpu_id():
    """'AuthenticAMD family 25 model 17 stepping 1', as the engine writes mlpbench_cpu_id."""
    info = cpuinfo()
    if not info.get("vendor_id"):
        return "unknown"
    return (f"{info['vendor_id']} family {info.get('cpu family', '')} model "
            f"{info.get('model', '')} stepping {info.get('stepping', '')}")


def caches():
    """[(name, bytes)] of CPU 0's data and unified caches, read from sysfs like Google
    Benchmark does: L1d, L2, L3."""
    out = []
    for index in range(16):
        base = f"/sys/devices/system/cpu/cpu0/cache/index{index}/"
        try:
            with open(base + "level") as f:
                level = int(f.read())
            with open(base + "type") as f:
                kind = f.read().strip()
            with open(base + "size") as f:
                size = f.read().strip()
        except (OSError, ValueError):
            break
        if kind == "Instruction" or not size:
            continue
        scale = {"K": 1024, "M": 1024 ** 2, "G": 1024 ** 3}.get(size[-1], 1)
        try:
            value = int(size.rstrip("KMG")) * scale
        except ValueError:
            continue
        out.append((f"L{level}{'d' if kind == 'Data' else ''}", value))
    return out


def memory_bytes():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def load_average():
    try:
        return list(os.getloadavg())
    except OSError:
        return None


def cpu_times():
    """(total, steal, busy) jiffies from /proc/stat's cpu line (busy: neither idle, iowait
    nor steal), or None where not visible."""
    try:
        with open("/proc/stat") as f:
            parts = f.readline().split()
        values = [int(v) for v in parts[1:]]
    except (OSError, ValueError):
        return None
    if not parts or parts[0] != "cpu" or len(values) < 8:
        return None
    return sum(values[:8]), values[7], sum(values[:8]) - values[3] - values[4] - values[7]


def others_fraction(before, after, own_cpu_s):
    """Share of all CPUs' time that other processes used between two cpu_times() samples, less
    `own_cpu_s` (the CPU seconds of the measured process). Unlike the load average, it does
    not count the measurement's own threads, nor the minute before it."""
    if not before or not after or after[0] <= before[0] or len(before) < 3 or len(after) < 3:
        return None
    total = after[0] - before[0]
    busy = after[2] - before[2]
    own = own_cpu_s * os.sysconf("SC_CLK_TCK")
    return min(1.0, max(0.0, (busy - own) / total))


def steal_fraction(before, after):
    """Share of CPU time the hypervisor gave to others between two cpu_times() samples."""
    if not before or not after or after[0] <= before[0]:
        return None
    return (after[1] - before[1]) / (after[0] - before[0])


def busy_fraction(seconds=1.0):
    """Share of all CPUs busy over `seconds`, from two cpu_times() samples: what others are
    doing before a measurement starts. Steal counts as busy here (the hypervisor's other guests
    are others too), unlike in others_fraction, which judges a run by what it did not use."""
    before = cpu_times()
    time.sleep(seconds)
    after = cpu_times()
    if not before or not after or after[0] <= before[0]:
        return None
    return ((after[1] + after[2]) - (before[1] + before[2])) / (after[0] - before[0])


@contextlib.contextmanager
def machine_lock(what, wait_s, say):
    """Hold the measurement lock (flock on lock_path()) for the block; wait at most wait_s for
    another holder, telling the user who holds it. The lock file is never opened through a
    symbolic link, and the holder's note is written only into a file that is the lock alone."""
    path = lock_path()
    fd = mlpbench_files.open_lock(path)
    try:
        deadline = time.monotonic() + wait_s
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{path}: another measurement still holds the lock "
                                   f"after {wait_s:g} s ({holder(fd)})")
            if not told:
                say(f"waiting for the measurement lock {path} ({holder(fd)})")
                told = True
            time.sleep(1.0)
        try:
            if mlpbench_files.lock_note_writable(fd):
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"pid {os.getpid()}: {what}\n".encode(), 0)
        except OSError:
            pass  # a read-only lock file: locking still works, the note does not
        yield
    finally:
        os.close(fd)


def holder(fd):
    try:
        return os.pread(fd, 200, 0).decode(errors="replace").strip() or "holder unknown"
    except OSError:
        return "holder unknown"
