"""Helpers shared by the benchmark scripts."""

import os


class LoadMeter:
    """Fraction of all CPUs used by *other* processes between start() and stop(): the busy
    jiffies of /proc/stat minus this process's (and its finished children's) CPU time. On 2
    cores any other load skews every timing; the tables record it."""

    def start(self):
        self._t = self._snap()
        return self

    @staticmethod
    def _snap():
        try:
            with open("/proc/stat") as f:
                v = [int(x) for x in f.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        hz = os.sysconf("SC_CLK_TCK")
        t = os.times()
        idle = v[3] + (v[4] if len(v) > 4 else 0)
        own = t.user + t.system + t.children_user + t.children_system
        return sum(v), sum(v) - idle, own * hz

    def stop(self):
        end = self._snap()
        if self._t is None or end is None:
            return None
        total = end[0] - self._t[0]
        other = (end[1] - self._t[1]) - (end[2] - self._t[2])
        return max(0.0, other / max(total, 1))
