"""Runs a command where DNS is dead: inside fresh mount and network
namespaces (unshare -mn, as root), /etc/resolv.conf names 127.0.0.1, where a
UDP socket takes queries and never answers, so every lookup of a name not
in /etc/hosts waits for the resolver's timeout.

    unshare -mn /usr/bin/python3 netns_dns.py <command> [args...]
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile


def main():
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    conf = tempfile.NamedTemporaryFile("w", prefix="resolv-", suffix=".conf", delete=False)
    conf.write("nameserver 127.0.0.1\noptions timeout:5 attempts:3\n")
    conf.close()
    subprocess.run(["mount", "--bind", conf.name, "/etc/resolv.conf"], check=True)
    hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    hole.bind(("127.0.0.1", 53))       # bound and never read: no ICMP, no answer
    tcp_hole = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp_hole.bind(("127.0.0.1", 53))   # a TCP fallback would wait too
    tcp_hole.listen(16)
    child = subprocess.Popen(sys.argv[1:])
    signal.signal(signal.SIGTERM, lambda *_: child.terminate())
    rc = child.wait()
    os.unlink(conf.name)
    sys.exit(rc)


if __name__ == "__main__":
    main()
