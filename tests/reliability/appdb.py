"""tests/reliability/appdb.py - the application's database, as the campaign models it.

A real application writes its data, then publishes that it changed; a page
renders by reading the data. Here the data of channel i is one number, the
sequence number of its last write, in a file mapped into every process of
the campaign (the publisher writes, the tabs read), so that a page load or
a refetch sees exactly what a backend would have rendered at that moment.

Each value is one aligned 8-byte integer written and read with a single
store/load (ctypes c_int64 over the mapping), so a read never sees half a
write. Only the publisher writes, and its values only grow.
"""

import ctypes
import mmap
import os

SLOT = ctypes.sizeof(ctypes.c_int64)


class AppDb:
    """The table of last-written sequence numbers, one per channel."""

    def __init__(self, path, channels, create=False):
        self.channels = channels
        size = channels * SLOT
        flags = os.O_RDWR | (os.O_CREAT | os.O_TRUNC if create else 0)
        fd = os.open(path, flags, 0o600)
        try:
            if create:
                os.ftruncate(fd, size)
            self._map = mmap.mmap(fd, size)
        finally:
            os.close(fd)
        self._slots = [ctypes.c_int64.from_buffer(self._map, i * SLOT) for i in range(channels)]

    def read(self, ch):
        """The sequence number of channel ch's last write (0: none yet)."""
        return self._slots[ch].value

    def write_next(self, ch):
        """Writes channel ch's next sequence number and returns it."""
        slot = self._slots[ch]
        slot.value = slot.value + 1
        return slot.value

    def close(self):
        self._slots = []  # the exported buffers must go before the mapping
        self._map.close()
