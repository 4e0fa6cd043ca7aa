"""The host's mirror of the texts an isolate remembers (core.js "texts the host sent before").

A page a handler fetches again and again (a remembered same-site fetch, fetch_memo.py) crossed
into V8 as a JSON string on every request, and, when the handler answered with that text,
crossed back the same way (measured on the S5 benchmark: JSON.parse and JSON.stringify took a
third of the isolate thread's time, mostly on those page bodies). Now the first crossing carries
the text with an id, later ones only the id, and a response whose body is that very text comes
back as the id; the host answers it from the bytes it kept.

The host decides what the isolate keeps (a bounded LRU) and tells it what to forget with a
"tx-" event. A forgotten text stays readable here until the batch carrying that event has run:
code that ran before the event in that batch may still have sent its id back.
"""

from __future__ import annotations

from collections import OrderedDict

TEXTS_MAX = 256  # texts an isolate keeps
TEXTS_BYTES = 8 << 20  # ... and their bytes; a text is at most bridge.TEXT_INLINE (32 KB)


class TextMirror:
    def __init__(self) -> None:
        self._held: OrderedDict[int, bytes] = OrderedDict()  # id -> UTF-8 bytes, as the isolate holds them
        self._size = 0
        self._dying: dict[int, bytes] = {}  # forgotten; their "tx-" event is not delivered yet
        self._carried: dict[int, bytes] = {}  # forgotten; their "tx-" event is in the running batch

    def body(self, tid: int, data: bytes) -> tuple[dict, list[int]]:
        """The body description for text `tid` (`data` is valid UTF-8), and the ids the isolate must
        forget first ("tx-" event before the one carrying this body)."""
        held = self._held
        if tid in held:
            held.move_to_end(tid)
            return {"tk": tid}, []
        held[tid] = data
        self._size += len(data)
        forget: list[int] = []
        while len(held) > 1 and (len(held) > TEXTS_MAX or self._size > TEXTS_BYTES):
            old, old_data = held.popitem(last=False)
            self._size -= len(old_data)
            self._dying[old] = old_data
            forget.append(old)
        return {"t": data.decode(), "tk": tid}, forget

    def holds(self, tid: int) -> bool:
        return tid in self._held

    def bytes_of(self, tid: int) -> bytes | None:
        for table in (self._held, self._dying, self._carried):
            data = table.get(tid)
            if data is not None:
                return data
        return None

    def batch_started(self) -> None:
        """The events queued so far (every "tx-" of the dying texts) are in the batch now running."""
        self._carried, self._dying = self._dying, {}

    def batch_ended(self) -> None:
        self._carried = {}
