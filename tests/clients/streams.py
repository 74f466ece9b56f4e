"""redis-py Redis Streams against a server on 127.0.0.1:PORT (redis-server 7 or nanostream-broker).

Usage: /usr/bin/python3 tests/clients/streams.py PORT
Exits 0 when every check passes; otherwise prints every check that differed and exits 1.

The expected values are what redis-server 7 answers. Entries are added with explicit IDs
wherever replies are compared; entries added with `*` are checked by shape and order. Exact
error texts are read over a plain RESP socket (redis-py strips some error prefixes). Every wait
is bounded: sockets time out after DEADLINE seconds, BLOCK waits are at most a few seconds.
The script expects a server with no keys when it starts.
"""

import re
import socket
import sys
import threading
import time
import traceback

import redis

DEADLINE = 10.0
# The sections still to run are skipped (and reported) once this many seconds have passed, so
# that a server timing out on every reply fails the script well within its caller's deadline.
BUDGET = 120
ID_SHAPE = re.compile(rb"^[0-9]+-[0-9]+$")
ERR_TOP_ITEM = "ERR The ID specified in XADD is equal or smaller than the target stream top item"
ERR_BAD_ID = "ERR Invalid stream ID specified as stream command argument"
ERR_NO_KEY = (
    "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to "
    "use the MKSTREAM option to create an empty stream automatically."
)
ERR_LIMIT = "ERR syntax error, LIMIT cannot be used without the special ~ option"

XGROUP_HELP = [
    b"XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    b"CREATE <key> <groupname> <id|$> [option]",
    b"    Create a new consumer group. Options are:",
    b"    * MKSTREAM",
    b"      Create the empty stream if it does not exist.",
    b"    * ENTRIESREAD entries_read",
    b"      Set the group's entries_read counter (internal use).",
    b"CREATECONSUMER <key> <groupname> <consumer>",
    b"    Create a new consumer in the specified group.",
    b"DELCONSUMER <key> <groupname> <consumer>",
    b"    Remove the specified consumer.",
    b"DESTROY <key> <groupname>",
    b"    Remove the specified group.",
    b"SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    b"    Set the current group ID and entries_read counter.",
    b"HELP",
    b"    Prints this help.",
]
XINFO_HELP = [
    b"XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    b"CONSUMERS <key> <groupname>",
    b"    Show consumers of <groupname>.",
    b"GROUPS <key>",
    b"    Show the stream consumer groups.",
    b"STREAM <key> [FULL [COUNT <count>]",
    b"    Show information about the stream.",
    b"HELP",
    b"    Prints this help.",
]


class RespError:
    """An error reply read by Raw: its whole text, prefix included."""

    def __init__(self, text):
        self.text = text

    def __eq__(self, other):
        return isinstance(other, RespError) and other.text == self.text

    def __repr__(self):
        return "RespError(%r)" % self.text


class NullArray:
    """`*-1`, which Raw keeps apart from the null bulk string `$-1` (None)."""

    def __eq__(self, other):
        return isinstance(other, NullArray)

    def __repr__(self):
        return "NullArray"


NULL_ARRAY = NullArray()


class Raw:
    """A minimal RESP2 client: replies as they came (bytes, ints, lists, RespError, NullArray)."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=DEADLINE)
        self.file = self.sock.makefile("rb")

    def call(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for arg in args:
            if isinstance(arg, int):
                arg = str(arg)
            if isinstance(arg, str):
                arg = arg.encode()
            out.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
        self.sock.sendall(b"".join(out))
        return self.read()

    def read(self):
        line = self.file.readline()
        if not line.endswith(b"\r\n"):
            raise ConnectionError("connection closed or reply line without CRLF: %r" % line)
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest
        if kind == b"-":
            return RespError(rest.decode("utf-8", "replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.file.read(n + 2)
            return data[:-2]
        if kind == b"*":
            n = int(rest)
            if n < 0:
                return NULL_ARRAY
            return [self.read() for _ in range(n)]
        raise ValueError("unexpected reply line %r" % line)

    def close(self):
        self.file.close()
        self.sock.close()


class Checker:
    """Collects every mismatch instead of stopping at the first."""

    def __init__(self):
        self.failures = []
        self.checks = 0
        self.section = "?"

    def fail(self, what, detail):
        self.failures.append("[%s] %s: %s" % (self.section, what, detail))

    def eq(self, what, got, want):
        """`got` may be a callable: an exception it raises is a mismatch, not the end of the
        section (unless the connection failed, which ends the section)."""
        self.checks += 1
        got = evaluate(got)
        if got != want:
            if isinstance(got, list) and isinstance(want, list) and len(got) == len(want):
                # Only the elements that differ, so that a long reply does not hide them.
                self.fail(what, "; ".join("[%d] got %s, want %s" % (i, short(g), short(w))
                                          for i, (g, w) in enumerate(zip(got, want)) if g != w))
            else:
                self.fail(what, "got %s, want %s" % (short(got), short(want)))
        return got

    def true(self, what, condition, got=None):
        self.checks += 1
        condition = evaluate(condition)
        if isinstance(condition, Raised) or not condition:
            self.fail(what, "not true of %s" % short(condition if isinstance(condition, Raised) else evaluate(got)))
        return condition

    def error(self, what, raw, args, want):
        """Sends `args` over `raw` and expects the exact error text `want`."""
        got = raw.call(*args)
        self.eq("%s (%s)" % (what, " ".join(short_arg(a) for a in args)), got, RespError(want))


class Raised:
    """What a check's expression raised instead of returning a value."""

    def __init__(self, error):
        self.error = error

    def __eq__(self, other):
        return False

    def __repr__(self):
        return "raised " + where(self.error)


def where(error):
    """The exception and the line of this script it came through, in one line."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == __file__]
    at = "line %d: %s" % (frames[-1].lineno, frames[-1].line) if frames else "?"
    return "%s(%r) at %s" % (type(error).__name__, str(error), at)


def evaluate(value):
    if not callable(value):
        return value
    try:
        return value()
    except (redis.ConnectionError, redis.TimeoutError, ConnectionError, socket.timeout):
        raise
    except Exception as e:
        return Raised(e)


def short(value):
    text = repr(value)
    return text if len(text) <= 400 else text[:400] + "...(%d chars)" % len(text)


def short_arg(arg):
    text = arg.decode("latin-1") if isinstance(arg, bytes) else str(arg)
    return text if len(text) <= 40 else text[:40] + "..."


def parse_id(stream_id):
    ms, seq = stream_id.split(b"-")
    return int(ms), int(seq)


def connect(port):
    client = redis.Redis(
        host="127.0.0.1",
        port=port,
        socket_timeout=DEADLINE,
        socket_connect_timeout=DEADLINE,
        decode_responses=False,
    )
    return client


def ids(entries):
    return [entry[0] for entry in entries]


def keys_set(client, pattern="*"):
    return sorted(client.keys(pattern))


def scan_all(client, **kwargs):
    """Every key SCAN returns, following the cursor (at most 10,000 calls)."""
    cursor, seen = 0, []
    for _ in range(10000):
        cursor, batch = client.scan(cursor, **kwargs)
        seen.extend(batch)
        if int(cursor) == 0:
            return sorted(set(seen))
    raise AssertionError("SCAN %r did not finish within 10,000 calls" % (kwargs,))


class Feeder:
    """Another connection that XADDs numbered entries to `key` until `done` is set (or the
    deadline passes), for waking a blocked reader whatever the moment it blocked. Each entry
    waits for the previous reply plus POLL seconds for the reader to report, then the next."""

    POLL = 0.05

    def __init__(self, port, key, first_ms):
        self.client = connect(port)
        self.key = key
        self.next_ms = first_ms
        self.added = []
        self.done = threading.Event()
        self.error = None
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        try:
            until = time.monotonic() + DEADLINE
            while not self.done.is_set() and time.monotonic() < until:
                stream_id = ("%d-1" % self.next_ms).encode()
                self.next_ms += 1
                self.client.xadd(self.key, {b"fed": stream_id}, id=stream_id)
                self.added.append(stream_id)
                self.done.wait(self.POLL)
        except Exception as e:  # reported by the checking thread
            self.error = e

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.done.set()
        self.thread.join(DEADLINE)
        self.client.close()


def blocked_call(function):
    """Runs `function` on a thread; returns a callable giving (result, exception, seconds)."""
    box = {}

    def run():
        started = time.monotonic()
        try:
            box["result"] = function()
        except Exception as e:
            box["error"] = e
        box["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def join():
        thread.join(DEADLINE + 2)
        if thread.is_alive():
            return None, TimeoutError("blocked call still running after %ss" % DEADLINE), None
        return box.get("result"), box.get("error"), box.get("seconds")

    return join


# ---------------------------------------------------------------------------------------------
# Sections. Each takes (ck, client, raw, port) and uses its own keys.


def check_keyspace_and_hostile_keys(ck, r, raw, port):
    ck.eq("KEYS * on a fresh server", lambda: keys_set(r), [])
    hostile = [b"../../etc", b"/", b"a\x00b", b"a", b"k" * 10240, b"\xff\xfe", b"\xff", b"."]
    for i, key in enumerate(hostile):
        ck.eq("XADD hostile key #%d" % i, lambda: r.xadd(key, {b"i": str(i).encode(), b"key": key}, id="1-1"), b"1-1")
    for i, key in enumerate(hostile):
        ck.eq("XRANGE hostile key #%d" % i, lambda: r.xrange(key), [(b"1-1", {b"i": str(i).encode(), b"key": key})])
        ck.eq("XLEN hostile key #%d" % i, lambda: r.xlen(key), 1)
        ck.eq("TYPE hostile key #%d" % i, lambda: r.type(key), b"stream")
    ck.eq("KEYS * lists the hostile keys as bytes", lambda: keys_set(r), sorted(hostile))
    ck.eq("EXISTS of all hostile keys", lambda: r.exists(*hostile), len(hostile))
    ck.eq("SCAN TYPE stream finds the hostile keys", lambda: scan_all(r, _type="stream"), sorted(hostile))
    ck.eq("KEYS a*", lambda: keys_set(r, "a*"), [b"a", b"a\x00b"])
    ck.eq("KEYS \\xff*", lambda: keys_set(r, b"\xff*"), [b"\xff", b"\xff\xfe"])
    # A second entry in one of them lands in that key only.
    ck.eq("XADD a second entry to 'a'", lambda: r.xadd(b"a", {b"x": b"y"}, id="2-0"), b"2-0")
    ck.eq("XLEN a\\x00b stays 1", lambda: r.xlen(b"a\x00b"), 1)
    ck.eq("XLEN a is 2", lambda: r.xlen(b"a"), 2)
    ck.eq("DEL of the hostile keys", lambda: r.delete(*hostile), len(hostile))
    ck.eq("KEYS * after DEL", lambda: keys_set(r), [])
    ck.eq("XRANGE of a deleted hostile key", lambda: r.xrange(b"../../etc"), [])

    # DEL / EXISTS / TYPE / KEYS / SCAN on ordinary stream keys.
    names = [("s:scan:%d" % i).encode() for i in range(30)]
    for name in names:
        r.xadd(name, {b"f": b"v"}, id="1-0")
    r.xadd(b"other", {b"f": b"v"}, id="1-0")
    ck.eq("KEYS s:scan:2?", lambda: keys_set(r, "s:scan:2?"), sorted(n for n in names if re.match(rb"s:scan:2.$", n)))
    ck.eq("KEYS s:scan:[12]", lambda: keys_set(r, "s:scan:[12]"), [b"s:scan:1", b"s:scan:2"])
    ck.eq("KEYS *", lambda: keys_set(r), sorted(names + [b"other"]))
    ck.eq("SCAN MATCH s:scan:1* COUNT 5", lambda: scan_all(r, match="s:scan:1*", count=5),
          sorted(n for n in names if n.startswith(b"s:scan:1")))
    ck.eq("SCAN COUNT 3", lambda: scan_all(r, count=3), sorted(names + [b"other"]))
    ck.eq("SCAN TYPE stream", lambda: scan_all(r, _type="stream", count=7), sorted(names + [b"other"]))
    ck.eq("SCAN MATCH other TYPE stream", lambda: scan_all(r, match="other", _type="stream"), [b"other"])
    ck.eq("SCAN TYPE string", lambda: scan_all(r, _type="string"), [])
    ck.eq("EXISTS counts a repeated key twice", lambda: r.exists(b"other", b"other", b"missing"), 2)
    ck.eq("TYPE of a missing key", lambda: r.type(b"missing"), b"none")
    ck.eq("DEL of two keys and a missing one", lambda: r.delete(b"s:scan:0", b"s:scan:1", b"missing"), 2)
    ck.eq("EXISTS after DEL", lambda: r.exists(b"s:scan:0"), 0)
    ck.eq("DEL of the rest", lambda: r.delete(*(names[2:] + [b"other"])), 29)
    ck.eq("KEYS * at the end", lambda: keys_set(r), [])


def check_xadd(ck, r, raw, port):
    k = b"s:add"
    ck.eq("XADD 1-1", lambda: r.xadd(k, {b"a": b"1"}, id="1-1"), b"1-1")
    ck.eq("XADD 5-1", lambda: r.xadd(k, {b"a": b"2"}, id="5-1"), b"5-1")
    ck.eq("XADD 6-*", lambda: r.xadd(k, {b"a": b"3"}, id="6-*"), b"6-0")
    ck.eq("XADD 6-* again", lambda: r.xadd(k, {b"a": b"4"}, id="6-*"), b"6-1")
    ck.error("XADD 5-* below the top", raw, ["XADD", k, "5-*", "a", "x"], ERR_TOP_ITEM)
    ck.error("XADD equal to the top", raw, ["XADD", k, "6-1", "a", "x"], ERR_TOP_ITEM)
    ck.error("XADD smaller than the top", raw, ["XADD", k, "2-0", "a", "x"], ERR_TOP_ITEM)
    ck.eq("XADD 7 (no sequence)", lambda: raw.call("XADD", k, "7", "a", "5"), b"7-0")
    ck.eq("XLEN", lambda: r.xlen(k), 5)
    ck.eq("XRANGE after explicit XADDs", lambda: ids(r.xrange(k)), [b"1-1", b"5-1", b"6-0", b"6-1", b"7-0"])
    star1 = r.xadd(k, {b"a": b"star"})
    star2 = r.xadd(k, {b"a": b"star2"})
    ck.true("XADD * has the shape ms-seq", lambda: ID_SHAPE.match(star1) is not None, star1)
    ck.true("XADD * is greater than 7-0", lambda: parse_id(star1) > (7, 0), star1)
    ck.true("a second XADD * is greater", lambda: parse_id(star2) > parse_id(star1), (star1, star2))
    now_ms = int(time.time() * 1000)
    ck.true("XADD * is about the current time", lambda: abs(parse_id(star1)[0] - now_ms) < 60000, (star1, now_ms))
    ck.eq("XRANGE ends with the * IDs", lambda: ids(r.xrange(k))[-2:], [star1, star2])
    ck.error("XADD 0-0 to an empty stream", raw, ["XADD", b"s:add:zero", "0-0", "a", "1"],
             "ERR The ID specified in XADD must be greater than 0-0")
    ck.eq("XADD 0-1 to a new stream", lambda: r.xadd(b"s:add:zero", {b"a": b"1"}, id="0-1"), b"0-1")
    ck.eq("XADD 0-* after 0-1", lambda: r.xadd(b"s:add:zero", {b"a": b"1"}, id="0-*"), b"0-2")
    ck.eq("XADD 9-* to a new stream", lambda: r.xadd(b"s:add:new", {b"a": b"1"}, id="9-*"), b"9-0")

    # Field order, duplicate fields, binary and empty values, as the raw reply shows them.
    k2 = b"s:add:fields"
    ck.eq("XADD with duplicate and binary fields",
          lambda: raw.call("XADD", k2, "1-0", "f", "v", "f", "w", b"\x00\xff", b"", "", b"\r\n"), b"1-0")
    ck.eq("XRANGE keeps field order and duplicates", lambda: raw.call("XRANGE", k2, "-", "+"),
          [[b"1-0", [b"f", b"v", b"f", b"w", b"\x00\xff", b"", b"", b"\r\n"]]])
    big = bytes(range(256)) * 1024
    ck.eq("XADD a 256 KiB value", lambda: r.xadd(k2, {b"big": big}, id="2-0"), b"2-0")
    ck.eq("XRANGE returns the 256 KiB value", lambda: r.xrange(k2, "2-0", "2-0"), [(b"2-0", {b"big": big})])

    # Arity and ID errors.
    ck.error("XADD odd field count", raw, ["XADD", k, "*", "a"], "ERR wrong number of arguments for 'xadd' command")
    ck.error("XADD three field arguments", raw, ["XADD", k, "*", "a", "b", "c"],
             "ERR wrong number of arguments for 'xadd' command")
    ck.error("XADD no fields", raw, ["XADD", k, "*"], "ERR wrong number of arguments for 'xadd' command")
    for bad in ["abc", "1-x", "-1", "1--1", "18446744073709551616-0", "1-18446744073709551616", "1-", ""]:
        ck.error("XADD invalid ID", raw, ["XADD", b"s:add:bad", bad, "a", "1"], ERR_BAD_ID)
    ck.eq("no key made by the invalid XADDs", lambda: r.exists(b"s:add:bad"), 0)
    ck.error("XADD MAXLEN -1", raw, ["XADD", k, "MAXLEN", "-1", "*", "a", "1"], "ERR The MAXLEN argument must be >= 0.")
    ck.error("XADD MAXLEN = LIMIT", raw, ["XADD", k, "MAXLEN", "=", "2", "LIMIT", "5", "*", "a", "1"], ERR_LIMIT)
    ck.error("XADD MAXLEN LIMIT", raw, ["XADD", k, "MAXLEN", "2", "LIMIT", "5", "*", "a", "1"], ERR_LIMIT)
    ck.eq("XLEN unchanged by the refused XADDs", lambda: r.xlen(k), 7)

    # NOMKSTREAM.
    ck.eq("XADD NOMKSTREAM on a missing key", lambda: r.xadd(b"s:nomk", {b"a": b"1"}, nomkstream=True), None)
    ck.eq("XADD NOMKSTREAM made no key", lambda: r.exists(b"s:nomk"), 0)
    ck.eq("XADD NOMKSTREAM raw reply", lambda: raw.call("XADD", b"s:nomk", "NOMKSTREAM", "1-1", "a", "1"), None)
    r.xadd(b"s:nomk", {b"a": b"1"}, id="1-1")
    ck.eq("XADD NOMKSTREAM on an existing key", lambda: r.xadd(b"s:nomk", {b"a": b"2"}, id="2-2", nomkstream=True), b"2-2")
    ck.eq("XLEN after NOMKSTREAM", lambda: r.xlen(b"s:nomk"), 2)

    # MAXLEN / MINID, exact.
    km = b"s:maxlen"
    for i in range(1, 11):
        r.xadd(km, {b"n": str(i).encode()}, id="%d-1" % i)
    ck.eq("XADD MAXLEN = 3", lambda: r.xadd(km, {b"n": b"11"}, id="11-1", maxlen=3, approximate=False), b"11-1")
    ck.eq("XRANGE after MAXLEN = 3", lambda: ids(r.xrange(km)), [b"9-1", b"10-1", b"11-1"])
    ck.eq("XADD MAXLEN 0 (raw)", lambda: raw.call("XADD", km, "MAXLEN", "0", "12-1", "n", "12"), b"12-1")
    ck.eq("XLEN after MAXLEN 0", lambda: r.xlen(km), 0)
    ck.eq("the stream stays after MAXLEN 0", lambda: r.exists(km), 1)
    kn = b"s:minid"
    for i in range(1, 11):
        r.xadd(kn, {b"n": str(i).encode()}, id="%d-1" % i)
    ck.eq("XADD MINID = 5-0", lambda: r.xadd(kn, {b"n": b"11"}, id="11-1", minid="5-0", approximate=False), b"11-1")
    ck.eq("XRANGE after MINID = 5-0", lambda: ids(r.xrange(kn))[0], b"5-1")
    ck.eq("XLEN after MINID = 5-0", lambda: r.xlen(kn), 7)
    ck.eq("XADD MINID = 7-1 (raw)", lambda: raw.call("XADD", kn, "MINID", "=", "7-1", "12-1", "n", "12"), b"12-1")
    ck.eq("XRANGE after MINID 7-1", lambda: ids(r.xrange(kn)), [b"7-1", b"8-1", b"9-1", b"10-1", b"11-1", b"12-1"])

    # MAXLEN / MINID with ~: only what Redis guarantees.
    ka = b"s:approx"
    for i in range(1, 301):
        r.xadd(ka, {b"n": str(i).encode()}, id="%d-1" % i)
    ck.eq("XADD MAXLEN ~ 50", lambda: r.xadd(ka, {b"n": b"301"}, id="301-1", maxlen=50, approximate=True), b"301-1")
    left = ids(r.xrange(ka))
    ck.true("MAXLEN ~ 50 keeps at least 50", lambda: len(left) >= 50, len(left))
    ck.true("MAXLEN ~ 50 keeps the newest 50", lambda: left[-50:] == [("%d-1" % i).encode() for i in range(252, 302)], left[-50:])
    ck.true("MAXLEN ~ keeps a contiguous tail", lambda: left == [("%d-1" % i).encode() for i in range(302 - len(left), 302)], left[:3])
    newer = [i for i in left if parse_id(i) >= (200, 0)] + [b"302-1"]
    ck.eq("XADD MINID ~ 200-0", lambda: r.xadd(ka, {b"n": b"302"}, id="302-1", minid="200-0", approximate=True), b"302-1")
    left = ids(r.xrange(ka))
    ck.eq("MINID ~ keeps every entry from 200-0 on", lambda: [i for i in left if parse_id(i) >= (200, 0)], newer)
    before = len(left)
    ck.eq("XADD MAXLEN ~ 1 LIMIT 1", lambda: raw.call("XADD", ka, "MAXLEN", "~", "1", "LIMIT", "1", "303-1", "n", "303"), b"303-1")
    left = ids(r.xrange(ka))
    ck.true("XADD MAXLEN ~ 1 LIMIT 1 evicts at most one entry", lambda: len(left) >= before, (before, len(left)))
    ck.true("MAXLEN ~ 1 LIMIT 1 keeps at least 1 and the newest", lambda: len(left) >= 1 and left[-1] == b"303-1", left[-3:])
    ck.true("MAXLEN ~ LIMIT keeps a contiguous tail", lambda: left == [("%d-1" % i).encode() for i in range(304 - len(left), 304)], left[:3])


def check_ranges(ck, r, raw, port):
    k = b"s:range"
    for n, stream_id in enumerate(["1-1", "1-2", "2-0", "3-5", "10-0"]):
        r.xadd(k, {b"n": str(n).encode()}, id=stream_id)
    everything = [(b"1-1", {b"n": b"0"}), (b"1-2", {b"n": b"1"}), (b"2-0", {b"n": b"2"}),
                  (b"3-5", {b"n": b"3"}), (b"10-0", {b"n": b"4"})]
    ck.eq("XLEN", lambda: r.xlen(k), 5)
    ck.eq("XLEN of a missing key", lambda: r.xlen(b"s:range:missing"), 0)
    ck.eq("XRANGE - +", lambda: r.xrange(k), everything)
    ck.eq("XRANGE 1-2 3-5", lambda: r.xrange(k, "1-2", "3-5"), everything[1:4])
    ck.eq("XRANGE (1-1 (3-5", lambda: r.xrange(k, "(1-1", "(3-5"), everything[1:3])
    ck.eq("XRANGE (1-2 +", lambda: r.xrange(k, "(1-2", "+"), everything[2:])
    ck.eq("XRANGE - (2-0", lambda: r.xrange(k, "-", "(2-0"), everything[:2])
    ck.eq("XRANGE 1 2 (incomplete IDs)", lambda: r.xrange(k, "1", "2"), everything[:3])
    ck.eq("XRANGE 3 3", lambda: r.xrange(k, "3", "3"), everything[3:4])
    ck.eq("XRANGE COUNT 2", lambda: r.xrange(k, count=2), everything[:2])
    ck.eq("XRANGE (1-1 + COUNT 2", lambda: r.xrange(k, "(1-1", "+", count=2), everything[1:3])
    ck.eq("XRANGE COUNT 0 (raw: a null array)", lambda: raw.call("XRANGE", k, "-", "+", "COUNT", "0"), NULL_ARRAY)
    ck.eq("XREVRANGE COUNT 0 (raw: a null array)", lambda: raw.call("XREVRANGE", k, "+", "-", "COUNT", "0"), NULL_ARRAY)
    ck.eq("XRANGE start after end", lambda: r.xrange(k, "5", "2"), [])
    ck.eq("XRANGE (1-1 (1-2: nothing between", lambda: r.xrange(k, "(1-1", "(1-2"), [])
    ck.eq("XRANGE of a missing key", lambda: r.xrange(b"s:range:missing"), [])
    ck.eq("XREVRANGE + -", lambda: r.xrevrange(k), everything[::-1])
    ck.eq("XREVRANGE + - COUNT 2", lambda: r.xrevrange(k, count=2), everything[:2:-1][:2])
    ck.eq("XREVRANGE (10-0 (1-1", lambda: r.xrevrange(k, "(10-0", "(1-1"), everything[1:4][::-1])
    ck.eq("XREVRANGE 2 1", lambda: r.xrevrange(k, "2", "1"), everything[:3][::-1])
    ck.eq("XREVRANGE - + (wrong order)", lambda: r.xrevrange(k, "-", "+"), [])
    ck.eq("XRANGE raw reply shape", lambda: raw.call("XRANGE", k, "10-0", "+"), [[b"10-0", [b"n", b"4"]]])
    ck.error("XRANGE exclusive start at the maximum ID", raw,
             ["XRANGE", k, "(18446744073709551615-18446744073709551615", "+"], "ERR invalid start ID for the interval")
    ck.error("XRANGE exclusive end at 0-0", raw, ["XRANGE", k, "-", "(0-0"], "ERR invalid end ID for the interval")
    ck.error("XRANGE invalid ID", raw, ["XRANGE", k, "x", "+"], ERR_BAD_ID)
    ck.error("XREVRANGE invalid ID", raw, ["XREVRANGE", k, "+", "1-y"], ERR_BAD_ID)
    ck.error("XRANGE COUNT not a number", raw, ["XRANGE", k, "-", "+", "COUNT", "x"],
             "ERR value is not an integer or out of range")
    ck.error("XRANGE wrong arity", raw, ["XRANGE", k, "-"], "ERR wrong number of arguments for 'xrange' command")


def check_xread(ck, r, raw, port):
    r.xadd(b"s:r1", {b"a": b"1"}, id="1-1")
    r.xadd(b"s:r1", {b"a": b"2"}, id="2-1")
    r.xadd(b"s:r2", {b"b": b"1"}, id="1-5")
    ck.eq("XREAD two streams from 0", lambda: r.xread({b"s:r1": "0", b"s:r2": "0"}),
          [[b"s:r1", [(b"1-1", {b"a": b"1"}), (b"2-1", {b"a": b"2"})]], [b"s:r2", [(b"1-5", {b"b": b"1"})]]])
    ck.eq("XREAD COUNT 1", lambda: r.xread({b"s:r1": "0", b"s:r2": "0"}, count=1),
          [[b"s:r1", [(b"1-1", {b"a": b"1"})]], [b"s:r2", [(b"1-5", {b"b": b"1"})]]])
    ck.eq("XREAD from 1-1 skips a stream with nothing newer", lambda: r.xread({b"s:r1": "1-1", b"s:r2": "1-5"}),
          [[b"s:r1", [(b"2-1", {b"a": b"2"})]]])
    ck.eq("XREAD with nothing newer (raw: null array)", lambda: raw.call("XREAD", "STREAMS", "s:r1", "2-1"), NULL_ARRAY)
    ck.eq("XREAD with nothing newer (redis-py)", lambda: r.xread({b"s:r1": "2-1"}), [])
    ck.eq("XREAD $ without BLOCK", lambda: r.xread({b"s:r1": "$"}), [])
    ck.eq("XREAD a missing stream", lambda: r.xread({b"s:none": "0"}), [])
    ck.eq("XREAD raw reply shape", lambda: raw.call("XREAD", "COUNT", "1", "STREAMS", "s:r2", "0"),
          [[b"s:r2", [[b"1-5", [b"b", b"1"]]]]])
    ck.error("XREAD unbalanced streams", raw, ["XREAD", "STREAMS", "s:r1", "s:r2", "0"],
             "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.")
    ck.error("XREAD invalid ID", raw, ["XREAD", "STREAMS", "s:r1", "1-z"], ERR_BAD_ID)

    # BLOCK that times out: a null reply after about the time asked for.
    started = time.monotonic()
    ck.eq("XREAD BLOCK 200 timeout (raw)", lambda: raw.call("XREAD", "BLOCK", "200", "STREAMS", "s:r1", "$"), NULL_ARRAY)
    waited = time.monotonic() - started
    ck.true("XREAD BLOCK 200 waited about 200 ms", lambda: 0.15 <= waited < 5, waited)
    ck.eq("XREAD BLOCK 100 timeout (redis-py)", lambda: r.xread({b"s:r1": "2-1"}, block=100), [])

    # BLOCK with an explicit ID: whether the XADD comes before or after it blocks, the same reply.
    reader = connect(port)
    join = blocked_call(lambda: reader.xread({b"s:r1": "2-1", b"s:r2": "1-5"}, block=5000))
    writer = connect(port)
    writer.xadd(b"s:r2", {b"b": b"2"}, id="2-0")
    result, error, seconds = join()
    ck.eq("XREAD BLOCK woken on the second stream", lambda: (result, error),
          ([[b"s:r2", [(b"2-0", {b"b": b"2"})]]], None))

    # BLOCK on $: woken by an XADD from another connection, made after it blocked.
    join = blocked_call(lambda: reader.xread({b"s:blk": "$"}, block=8000))
    feeder = Feeder(port, b"s:blk", 100).start()
    result, error, seconds = join()
    feeder.stop()
    ck.eq("XREAD BLOCK $ raised nothing", lambda: (error, feeder.error), (None, None))
    if error is None:
        ck.true("XREAD BLOCK $ returns one stream with one entry",
                lambda: isinstance(result, list) and len(result) == 1 and result[0][0] == b"s:blk" and len(result[0][1]) == 1,
                result)
        if result and result[0][1]:
            got_id, fields = result[0][1][0]
            ck.true("XREAD BLOCK $ got an entry that was added while it waited", lambda: got_id in feeder.added, (got_id, feeder.added))
            ck.eq("XREAD BLOCK $ fields", fields, {b"fed": got_id})
            ck.eq("XRANGE after the feeder", lambda: ids(r.xrange(b"s:blk")), feeder.added)
    reader.close()
    writer.close()


def check_xdel_xtrim(ck, r, raw, port):
    k = b"s:del"
    for i in range(1, 6):
        r.xadd(k, {b"n": str(i).encode()}, id="%d-1" % i)
    ck.eq("XDEL two present, one absent", lambda: r.xdel(k, "2-1", "4-1", "9-9"), 2)
    ck.eq("XLEN after XDEL", lambda: r.xlen(k), 3)
    ck.eq("XRANGE after XDEL", lambda: ids(r.xrange(k)), [b"1-1", b"3-1", b"5-1"])
    ck.eq("XDEL again", lambda: r.xdel(k, "2-1"), 0)
    ck.eq("XDEL on a missing key", lambda: r.xdel(b"s:del:missing", "1-1"), 0)
    ck.error("XDEL invalid ID", raw, ["XDEL", k, "nope"], ERR_BAD_ID)
    ck.eq("XDEL the last entry", lambda: r.xdel(k, "5-1"), 1)
    ck.error("XADD at the deleted top ID", raw, ["XADD", k, "5-1", "a", "1"], ERR_TOP_ITEM)
    ck.eq("XADD 5-* after deleting 5-1", lambda: r.xadd(k, {b"n": b"x"}, id="5-*"), b"5-2")
    ck.eq("XDEL everything", lambda: r.xdel(k, "1-1", "3-1", "5-2"), 3)
    ck.eq("XLEN of an emptied stream", lambda: r.xlen(k), 0)
    ck.eq("an emptied stream still exists", lambda: (r.exists(k), r.type(k)), (1, b"stream"))
    ck.error("XADD below the top of an emptied stream", raw, ["XADD", k, "5-2", "a", "1"], ERR_TOP_ITEM)

    t = b"s:trim"
    for i in range(1, 11):
        r.xadd(t, {b"n": str(i).encode()}, id="%d-1" % i)
    ck.eq("XTRIM MAXLEN = 7", lambda: r.xtrim(t, maxlen=7, approximate=False), 3)
    ck.eq("XRANGE after XTRIM MAXLEN 7", lambda: ids(r.xrange(t))[0], b"4-1")
    ck.eq("XTRIM MAXLEN 7 again", lambda: r.xtrim(t, maxlen=7, approximate=False), 0)
    ck.eq("XTRIM MINID = 6-1", lambda: r.xtrim(t, minid="6-1", approximate=False), 2)
    ck.eq("XRANGE after XTRIM MINID", lambda: ids(r.xrange(t)), [("%d-1" % i).encode() for i in range(6, 11)])
    ck.eq("XTRIM MINID 7 (raw, an ID without a sequence)", lambda: raw.call("XTRIM", t, "MINID", "7"), 1)
    ck.eq("XTRIM MAXLEN 0 (raw)", lambda: raw.call("XTRIM", t, "MAXLEN", "0"), 4)
    ck.eq("XTRIM leaves the stream", lambda: (r.xlen(t), r.exists(t)), (0, 1))
    ck.eq("XTRIM on a missing key", lambda: r.xtrim(b"s:trim:missing", maxlen=1, approximate=False), 0)
    ck.eq("XTRIM did not make the missing key", lambda: r.exists(b"s:trim:missing"), 0)
    ck.error("XTRIM LIMIT without ~", raw, ["XTRIM", t, "MAXLEN", "1", "LIMIT", "1"], ERR_LIMIT)
    ck.error("XTRIM without a strategy", raw, ["XTRIM", t, "FOO", "1"], "ERR syntax error")
    ck.error("XTRIM MAXLEN not a number", raw, ["XTRIM", t, "MAXLEN", "x"], "ERR value is not an integer or out of range")

    ta = b"s:trim:approx"
    for i in range(1, 301):
        r.xadd(ta, {b"n": str(i).encode()}, id="%d-1" % i)
    removed = r.xtrim(ta, maxlen=120, approximate=True)
    left = ids(r.xrange(ta))
    ck.true("XTRIM MAXLEN ~ 120 keeps at least 120", lambda: len(left) >= 120, len(left))
    ck.eq("XTRIM MAXLEN ~ reports what it removed", removed, 300 - len(left))
    ck.true("XTRIM MAXLEN ~ keeps a contiguous tail", lambda: left == [("%d-1" % i).encode() for i in range(301 - len(left), 301)], left[:3])
    removed = r.xtrim(ta, minid="250-0", approximate=True)
    after = ids(r.xrange(ta))
    ck.eq("XTRIM MINID ~ reports what it removed", removed, len(left) - len(after))
    ck.true("XTRIM MINID ~ keeps every entry from 250-0 on",
            lambda: [i for i in after if parse_id(i) >= (250, 0)] == [("%d-1" % i).encode() for i in range(250, 301)], after[:3])
    removed = raw.call("XTRIM", ta, "MAXLEN", "~", "1", "LIMIT", "1")
    left = ids(r.xrange(ta))
    ck.true("XTRIM MAXLEN ~ 1 LIMIT 1 removes at most one entry", lambda: removed in (0, 1) and len(after) - len(left) == removed,
            (removed, len(after), len(left)))
    ck.true("XTRIM MAXLEN ~ 1 LIMIT 1 keeps the newest", lambda: left[-1:] == [b"300-1"], left[-3:])


def check_xinfo_stream(ck, r, raw, port):
    k = b"s:info"
    r.xadd(k, {b"a": b"1"}, id="1-1")
    r.xadd(k, {b"b": b"2", b"c": b"3"}, id="2-2")
    r.xadd(k, {b"d": b"4"}, id="3-3")
    r.xdel(k, "3-3")
    info = r.xinfo_stream(k)
    ck.eq("XINFO STREAM length", lambda: info.get("length"), 2)
    ck.eq("XINFO STREAM last-generated-id", lambda: info.get("last-generated-id"), b"3-3")
    ck.eq("XINFO STREAM first-entry", lambda: info.get("first-entry"), (b"1-1", {b"a": b"1"}))
    ck.eq("XINFO STREAM last-entry", lambda: info.get("last-entry"), (b"2-2", {b"b": b"2", b"c": b"3"}))
    ck.eq("XINFO STREAM groups", lambda: info.get("groups"), 0)
    ck.eq("XINFO STREAM entries-added", lambda: info.get("entries-added"), 3)
    ck.eq("XINFO STREAM max-deleted-entry-id", lambda: info.get("max-deleted-entry-id"), b"3-3")
    ck.eq("XINFO STREAM recorded-first-entry-id", lambda: info.get("recorded-first-entry-id"), b"1-1")
    for field in ["radix-tree-keys", "radix-tree-nodes"]:
        ck.true("XINFO STREAM %s is an int" % field, lambda: isinstance(info.get(field), int), info.get(field))
    ck.eq("XINFO STREAM field names", lambda: sorted(info),
          sorted(["length", "radix-tree-keys", "radix-tree-nodes", "last-generated-id", "max-deleted-entry-id",
                  "entries-added", "recorded-first-entry-id", "groups", "first-entry", "last-entry"]))
    r.xgroup_create(k, b"g1", id="0")
    r.xgroup_create(k, b"g2", id="$")
    ck.eq("XINFO STREAM groups after two XGROUP CREATE", lambda: r.xinfo_stream(k).get("groups"), 2)
    r.xtrim(k, maxlen=0, approximate=False)
    info = r.xinfo_stream(k)
    ck.eq("XINFO STREAM of an emptied stream",
          lambda: [info.get(f) for f in ["length", "last-generated-id", "first-entry", "last-entry", "entries-added"]],
          [0, b"3-3", None, None, 3])
    r.xadd(b"s:info:empty", {b"a": b"1"}, id="7-0")
    r.xdel(b"s:info:empty", "7-0")
    ck.eq("XINFO STREAM raw first-entry of an empty stream is nil",
          lambda: pairs(raw.call("XINFO", "STREAM", "s:info:empty")).get(b"first-entry", "absent"), None)
    ck.error("XINFO STREAM on a missing key", raw, ["XINFO", "STREAM", "s:info:missing"], "ERR no such key")


def pairs(flat):
    if not isinstance(flat, list):
        return {}
    return dict(zip(flat[0::2], flat[1::2]))


def group_info(r, key):
    return {g["name"]: g for g in r.xinfo_groups(key)}


def consumer_info(r, key, group):
    return {c["name"]: c for c in r.xinfo_consumers(key, group)}


def check_xgroup(ck, r, raw, port):
    k = b"s:grp"
    for i in range(1, 6):
        r.xadd(k, {b"n": str(i).encode()}, id="%d-0" % i)
    ck.eq("XGROUP CREATE $", lambda: r.xgroup_create(k, b"tail", id="$"), True)
    ck.eq("XGROUP CREATE 0", lambda: r.xgroup_create(k, b"all", id="0"), True)
    ck.eq("XGROUP CREATE 2-0 ENTRIESREAD 2", lambda: r.xgroup_create(k, b"mid", id="2-0", entries_read=2), True)
    ck.error("XGROUP CREATE a duplicate", raw, ["XGROUP", "CREATE", k, "all", "0"], "BUSYGROUP Consumer Group name already exists")
    ck.error("XGROUP CREATE on a missing key", raw, ["XGROUP", "CREATE", "s:grp:missing", "g", "$"], ERR_NO_KEY)
    ck.eq("no key made by XGROUP CREATE without MKSTREAM", lambda: r.exists(b"s:grp:missing"), 0)
    ck.error("XGROUP CREATE invalid ID", raw, ["XGROUP", "CREATE", k, "bad", "x-1"], ERR_BAD_ID)
    ck.error("XGROUP unknown subcommand", raw, ["XGROUP", "FOO"], "ERR unknown subcommand 'FOO'. Try XGROUP HELP.")
    ck.eq("XGROUP HELP", raw.call("XGROUP", "HELP"), XGROUP_HELP)
    ck.eq("XINFO HELP", raw.call("XINFO", "HELP"), XINFO_HELP)
    ck.error("XINFO unknown subcommand", raw, ["XINFO", "FOO"], "ERR unknown subcommand 'FOO'. Try XINFO HELP.")
    ck.eq("XGROUP CREATE MKSTREAM", lambda: r.xgroup_create(b"s:grp:mk", b"g", id="$", mkstream=True), True)
    ck.eq("MKSTREAM made an empty stream", lambda: (r.exists(b"s:grp:mk"), r.xlen(b"s:grp:mk"), r.type(b"s:grp:mk")), (1, 0, b"stream"))

    groups = group_info(r, k)
    ck.eq("XINFO GROUPS names", lambda: sorted(groups), [b"all", b"mid", b"tail"])
    want = {
        b"tail": {"name": b"tail", "consumers": 0, "pending": 0, "last-delivered-id": b"5-0", "entries-read": None, "lag": 0},
        b"all": {"name": b"all", "consumers": 0, "pending": 0, "last-delivered-id": b"0-0", "entries-read": None, "lag": 5},
        b"mid": {"name": b"mid", "consumers": 0, "pending": 0, "last-delivered-id": b"2-0", "entries-read": 2, "lag": 3},
    }
    for name, fields in want.items():
        ck.eq("XINFO GROUPS %r" % name, lambda: groups.get(name), fields)
    ck.eq("XINFO GROUPS order (by name)", lambda: [g["name"] for g in r.xinfo_groups(k)], [b"all", b"mid", b"tail"])

    # CREATECONSUMER / DELCONSUMER.
    ck.eq("XGROUP CREATECONSUMER", lambda: r.xgroup_createconsumer(k, b"all", b"c1"), 1)
    ck.eq("XGROUP CREATECONSUMER again", lambda: r.xgroup_createconsumer(k, b"all", b"c1"), 0)
    consumers = consumer_info(r, k, b"all")
    ck.eq("XINFO CONSUMERS after CREATECONSUMER", lambda: sorted(consumers), [b"c1"])
    c1 = consumers.get(b"c1", {})
    ck.eq("XINFO CONSUMERS c1 pending", lambda: c1.get("pending"), 0)
    ck.true("XINFO CONSUMERS c1 idle >= 0", lambda: isinstance(c1.get("idle"), int) and c1.get("idle") >= 0, c1)
    got = r.xreadgroup(b"all", b"c2", {k: ">"}, count=2)
    ck.eq("XREADGROUP > COUNT 2 makes consumer c2", got, [[k, [(b"1-0", {b"n": b"1"}), (b"2-0", {b"n": b"2"})]]])
    ck.eq("XINFO GROUPS after a read", lambda: group_info(r, k).get(b"all"),
          {"name": b"all", "consumers": 2, "pending": 2, "last-delivered-id": b"2-0", "entries-read": 2, "lag": 3})
    ck.eq("XINFO CONSUMERS pending", lambda: {n: c["pending"] for n, c in consumer_info(r, k, b"all").items()}, {b"c1": 0, b"c2": 2})
    ck.eq("XGROUP DELCONSUMER returns its pending count", lambda: r.xgroup_delconsumer(k, b"all", b"c2"), 2)
    ck.eq("XGROUP DELCONSUMER of a missing consumer", lambda: r.xgroup_delconsumer(k, b"all", b"nobody"), 0)
    ck.eq("XPENDING after DELCONSUMER", lambda: r.xpending(k, b"all")["pending"], 0)
    ck.error("XGROUP CREATECONSUMER on a missing group", raw, ["XGROUP", "CREATECONSUMER", k, "nog", "c"],
             "NOGROUP No such consumer group 'nog' for key name 's:grp'")
    ck.error("XGROUP DELCONSUMER on a missing group", raw, ["XGROUP", "DELCONSUMER", k, "nog", "c"],
             "NOGROUP No such consumer group 'nog' for key name 's:grp'")

    # SETID.
    ck.eq("XGROUP SETID 0", lambda: r.xgroup_setid(k, b"all", "0"), True)
    ck.eq("XREADGROUP > after SETID 0 rereads", lambda: ids(r.xreadgroup(b"all", b"c1", {k: ">"})[0][1]),
          [b"1-0", b"2-0", b"3-0", b"4-0", b"5-0"])
    ck.eq("XGROUP SETID $ ENTRIESREAD (raw)", lambda: raw.call("XGROUP", "SETID", k, "mid", "$", "ENTRIESREAD", "5"), b"OK")
    ck.eq("XINFO GROUPS after SETID $", lambda: group_info(r, k).get(b"mid", {}).get("last-delivered-id"), b"5-0")
    ck.eq("XREADGROUP > after SETID $", lambda: r.xreadgroup(b"mid", b"c", {k: ">"}), [])
    ck.error("XGROUP SETID on a missing group", raw, ["XGROUP", "SETID", k, "nog", "0"],
             "NOGROUP No such consumer group 'nog' for key name 's:grp'")
    ck.error("XGROUP SETID on a missing key", raw, ["XGROUP", "SETID", "s:grp:missing", "g", "0"], ERR_NO_KEY)

    # DESTROY.
    ck.eq("XGROUP DESTROY (raw)", lambda: raw.call("XGROUP", "DESTROY", k, "tail"), 1)
    ck.eq("XGROUP DESTROY again (raw)", lambda: raw.call("XGROUP", "DESTROY", k, "tail"), 0)
    ck.eq("XGROUP DESTROY via redis-py", lambda: r.xgroup_destroy(k, b"mid"), True)
    ck.eq("XINFO GROUPS after DESTROY", lambda: sorted(group_info(r, k)), [b"all"])
    ck.error("XREADGROUP on a destroyed group", raw, ["XREADGROUP", "GROUP", "tail", "c", "STREAMS", k, ">"],
             "NOGROUP No such key 's:grp' or consumer group 'tail' in XREADGROUP with GROUP option")
    ck.error("XINFO GROUPS on a missing key", raw, ["XINFO", "GROUPS", "s:grp:missing"], "ERR no such key")
    ck.error("XINFO CONSUMERS on a missing group", raw, ["XINFO", "CONSUMERS", k, "nog"],
             "NOGROUP No such consumer group 'nog' for key name 's:grp'")
    ck.eq("DEL of a stream with groups", lambda: r.delete(k), 1)
    ck.eq("XGROUP CREATE MKSTREAM after DEL", lambda: raw.call("XGROUP", "CREATE", k, "all", "$", "MKSTREAM"), b"OK")
    ck.eq("the recreated stream's groups", lambda: [g["name"] for g in r.xinfo_groups(k)], [b"all"])


def check_xreadgroup(ck, r, raw, port):
    k = b"s:rg"
    for i in range(1, 6):
        r.xadd(k, {b"n": str(i).encode()}, id="%d-0" % i)
    r.xgroup_create(k, b"g", id="0")
    ck.eq("XREADGROUP > COUNT 2", lambda: r.xreadgroup(b"g", b"alice", {k: ">"}, count=2),
          [[k, [(b"1-0", {b"n": b"1"}), (b"2-0", {b"n": b"2"})]]])
    ck.eq("XREADGROUP > COUNT 1 (bob)", lambda: r.xreadgroup(b"g", b"bob", {k: ">"}, count=1), [[k, [(b"3-0", {b"n": b"3"})]]])
    ck.eq("XREADGROUP 0: alice's pending entries", lambda: r.xreadgroup(b"g", b"alice", {k: "0"}),
          [[k, [(b"1-0", {b"n": b"1"}), (b"2-0", {b"n": b"2"})]]])
    ck.eq("XREADGROUP 1-0: alice's pending after 1-0", lambda: r.xreadgroup(b"g", b"alice", {k: "1-0"}),
          [[k, [(b"2-0", {b"n": b"2"})]]])
    ck.eq("XREADGROUP 0 COUNT 1", lambda: r.xreadgroup(b"g", b"alice", {k: "0"}, count=1), [[k, [(b"1-0", {b"n": b"1"})]]])
    ck.eq("XREADGROUP 0 for bob", lambda: ids(r.xreadgroup(b"g", b"bob", {k: "0"})[0][1]), [b"3-0"])
    ck.eq("XREADGROUP 0 for a consumer with nothing pending (raw)",
          lambda: raw.call("XREADGROUP", "GROUP", "g", "carol", "STREAMS", k, "0"), [[k, []]])
    ck.eq("XREADGROUP NOACK", lambda: r.xreadgroup(b"g", b"carol", {k: ">"}, count=1, noack=True), [[k, [(b"4-0", {b"n": b"4"})]]])
    ck.eq("NOACK left nothing pending for carol", lambda: r.xreadgroup(b"g", b"carol", {k: "0"}), [[k, []]])
    ck.eq("XREADGROUP > rest", lambda: ids(r.xreadgroup(b"g", b"alice", {k: ">"})[0][1]), [b"5-0"])
    ck.eq("XREADGROUP > when everything was delivered (raw)",
          lambda: raw.call("XREADGROUP", "GROUP", "g", "alice", "STREAMS", k, ">"), NULL_ARRAY)

    # Rereading history counts deliveries; XACK removes from the PEL.
    detail = r.xpending_range(k, b"g", "-", "+", 10)
    ck.eq("XPENDING delivery counts", lambda: [(d["message_id"], d["consumer"], d["times_delivered"]) for d in detail],
          [(b"1-0", b"alice", 3), (b"2-0", b"alice", 3), (b"3-0", b"bob", 2), (b"5-0", b"alice", 1)])
    ck.eq("XACK two", lambda: r.xack(k, b"g", "1-0", "2-0"), 2)
    ck.eq("XACK again", lambda: r.xack(k, b"g", "1-0", "2-0"), 0)
    ck.eq("XACK of an ID never delivered", lambda: r.xack(k, b"g", "4-0", "9-9"), 0)
    ck.eq("XACK on a missing group", lambda: r.xack(k, b"nog", "1-0"), 0)
    ck.eq("XACK on a missing key", lambda: r.xack(b"s:rg:missing", b"g", "1-0"), 0)
    ck.error("XACK invalid ID", raw, ["XACK", k, "g", "zz"], ERR_BAD_ID)
    ck.eq("XREADGROUP 0 after XACK", lambda: ids(r.xreadgroup(b"g", b"alice", {k: "0"})[0][1]), [b"5-0"])

    # A pending entry that was deleted from the stream reads back as [id, nil].
    ck.eq("XDEL a pending entry", lambda: r.xdel(k, "5-0"), 1)
    ck.eq("XREADGROUP history with a deleted entry (raw)",
          lambda: raw.call("XREADGROUP", "GROUP", "g", "alice", "STREAMS", k, "0"), [[k, [[b"5-0", NULL_ARRAY]]]])

    # Several streams in one XREADGROUP.
    k2 = b"s:rg2"
    r.xadd(k2, {b"m": b"1"}, id="1-0")
    r.xgroup_create(k2, b"g", id="0")
    r.xadd(k, {b"n": b"6"}, id="6-0")
    ck.eq("XREADGROUP two streams", lambda: r.xreadgroup(b"g", b"dave", {k: ">", k2: ">"}),
          [[k, [(b"6-0", {b"n": b"6"})]], [k2, [(b"1-0", {b"m": b"1"})]]])

    # Errors.
    ck.error("XREADGROUP missing group", raw, ["XREADGROUP", "GROUP", "nog", "c", "STREAMS", k, ">"],
             "NOGROUP No such key 's:rg' or consumer group 'nog' in XREADGROUP with GROUP option")
    ck.error("XREADGROUP missing key", raw, ["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s:rg:missing", ">"],
             "NOGROUP No such key 's:rg:missing' or consumer group 'g' in XREADGROUP with GROUP option")
    ck.error("XREADGROUP with $", raw, ["XREADGROUP", "GROUP", "g", "c", "STREAMS", k, "$"],
             "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this "
             "consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just "
             "return an empty result set.")
    ck.error("XREADGROUP without GROUP", raw, ["XREADGROUP", "COUNT", "1", "BLOCK", "1", "STREAMS", k, ">"], "ERR Missing GROUP option for XREADGROUP")
    ck.error("XREAD with >", raw, ["XREAD", "STREAMS", k, ">"],
             "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.")

    # BLOCK with history returns at once; BLOCK on > times out; BLOCK on > is woken by an XADD.
    ck.eq("XREADGROUP BLOCK with an ID does not block", lambda: ids(r.xreadgroup(b"g", b"bob", {k: "0"}, block=5000)[0][1]), [b"3-0"])
    started = time.monotonic()
    ck.eq("XREADGROUP BLOCK 200 > timeout (raw)",
          lambda: raw.call("XREADGROUP", "GROUP", "g", "bob", "BLOCK", "200", "STREAMS", k, ">"), NULL_ARRAY)
    ck.true("XREADGROUP BLOCK 200 waited about 200 ms", lambda: 0.15 <= time.monotonic() - started < 5, time.monotonic() - started)
    kb = b"s:rg:block"
    r.xgroup_create(kb, b"g", id="$", mkstream=True)
    reader = connect(port)
    join = blocked_call(lambda: reader.xreadgroup(b"g", b"waiter", {kb: ">"}, count=10, block=8000))
    feeder = Feeder(port, kb, 100).start()
    result, error, seconds = join()
    feeder.stop()
    ck.eq("XREADGROUP BLOCK raised nothing", lambda: (error, feeder.error), (None, None))
    if error is None:
        ck.true("XREADGROUP BLOCK > returns one entry", lambda: isinstance(result, list) and len(result) == 1
                and result[0][0] == kb and len(result[0][1]) == 1, result)
        if result and result[0][1]:
            first = result[0][1][0][0]
            ck.eq("XREADGROUP BLOCK > got the first entry added", first, feeder.added[0] if feeder.added else None)
            ck.eq("XREADGROUP BLOCK > made it pending", lambda: [d["message_id"] for d in r.xpending_range(kb, b"g", "-", "+", 100)], [first])
            rest = r.xreadgroup(b"g", b"waiter", {kb: ">"})
            ck.eq("XREADGROUP > after BLOCK gets the rest", lambda: ids(rest[0][1]) if rest else [], feeder.added[1:])
    reader.close()


def check_xpending(ck, r, raw, port):
    k = b"s:pend"
    for i in range(1, 7):
        r.xadd(k, {b"n": str(i).encode()}, id="%d-0" % i)
    r.xgroup_create(k, b"g", id="0")
    ck.eq("XPENDING summary of an empty PEL", lambda: r.xpending(k, b"g"), {"pending": 0, "min": None, "max": None, "consumers": []})
    ck.eq("XPENDING summary of an empty PEL (raw)", lambda: raw.call("XPENDING", k, "g"), [0, None, None, NULL_ARRAY])
    r.xreadgroup(b"g", b"zed", {k: ">"}, count=2)
    r.xreadgroup(b"g", b"amy", {k: ">"}, count=3)
    ck.eq("XPENDING summary", lambda: r.xpending(k, b"g"),
          {"pending": 5, "min": b"1-0", "max": b"5-0",
           "consumers": [{"name": b"amy", "pending": 3}, {"name": b"zed", "pending": 2}]})
    ck.eq("XPENDING summary (raw)", lambda: raw.call("XPENDING", k, "g"),
          [5, b"1-0", b"5-0", [[b"amy", b"3"], [b"zed", b"2"]]])
    detail = r.xpending_range(k, b"g", "-", "+", 10)
    ck.eq("XPENDING - + 10", lambda: [(d["message_id"], d["consumer"], d["times_delivered"]) for d in detail],
          [(b"1-0", b"zed", 1), (b"2-0", b"zed", 1), (b"3-0", b"amy", 1), (b"4-0", b"amy", 1), (b"5-0", b"amy", 1)])
    ck.true("XPENDING idle times are >= 0 and small", lambda: all(0 <= d["time_since_delivered"] < 60000 for d in detail), detail)
    ck.eq("XPENDING 2-0 4-0 2", lambda: ids_of(r.xpending_range(k, b"g", "2-0", "4-0", 2)), [b"2-0", b"3-0"])
    ck.eq("XPENDING (2-0 + 10", lambda: ids_of(r.xpending_range(k, b"g", "(2-0", "+", 10)), [b"3-0", b"4-0", b"5-0"])
    ck.eq("XPENDING consumer amy", lambda: ids_of(r.xpending_range(k, b"g", "-", "+", 10, consumername=b"amy")),
          [b"3-0", b"4-0", b"5-0"])
    ck.eq("XPENDING consumer nobody", lambda: r.xpending_range(k, b"g", "-", "+", 10, consumername=b"nobody"), [])
    ck.eq("XPENDING COUNT 0 (raw)", lambda: raw.call("XPENDING", k, "g", "-", "+", "0"), [])
    # Make 1-0 idle for 100 s (XCLAIM IDLE), then filter on IDLE.
    ck.eq("XCLAIM IDLE JUSTID", lambda: r.xclaim(k, b"g", b"zed", 0, ["1-0"], idle=100000, justid=True), [b"1-0"])
    ck.eq("XPENDING IDLE 50000", lambda: ids_of(r.xpending_range(k, b"g", "-", "+", 10, idle=50000)), [b"1-0"])
    ck.eq("XPENDING IDLE 50000 for amy", lambda: r.xpending_range(k, b"g", "-", "+", 10, consumername=b"amy", idle=50000), [])
    ck.eq("XPENDING IDLE raw reply", lambda: [row[:2] + row[3:] for row in raw.call("XPENDING", k, "g", "IDLE", "50000", "-", "+", "10")],
          [[b"1-0", b"zed", 1]])
    idle = raw.call("XPENDING", k, "g", "IDLE", "50000", "-", "+", "10")[0][2]
    ck.true("XPENDING IDLE shows the claimed idle time", lambda: 100000 <= idle < 160000, idle)
    ck.error("XPENDING missing group", raw, ["XPENDING", k, "nog"], "NOGROUP No such key 's:pend' or consumer group 'nog'")
    ck.error("XPENDING missing key", raw, ["XPENDING", "s:pend:missing", "g"],
             "NOGROUP No such key 's:pend:missing' or consumer group 'g'")
    ck.error("XPENDING invalid ID", raw, ["XPENDING", k, "g", "x", "+", "10"], ERR_BAD_ID)
    ck.error("XPENDING missing COUNT", raw, ["XPENDING", k, "g", "-", "+"], "ERR syntax error")


def ids_of(detail):
    return [d["message_id"] for d in detail]


def delivery(r, key, group, stream_id):
    rows = r.xpending_range(key, group, stream_id, stream_id, 1)
    return (rows[0]["consumer"], rows[0]["times_delivered"], rows[0]["time_since_delivered"]) if rows else None


def check_xclaim(ck, r, raw, port):
    k = b"s:claim"
    for i in range(1, 7):
        r.xadd(k, {b"n": str(i).encode()}, id="%d-0" % i)
    r.xgroup_create(k, b"g", id="0")
    r.xreadgroup(b"g", b"a", {k: ">"}, count=4)
    ck.eq("XCLAIM min-idle 0", lambda: r.xclaim(k, b"g", b"b", 0, ["1-0"]), [(b"1-0", {b"n": b"1"})])
    ck.eq("XCLAIM moved 1-0 to b and counted a delivery", lambda: delivery(r, k, b"g", "1-0")[:2], (b"b", 2))
    ck.eq("XCLAIM JUSTID", lambda: r.xclaim(k, b"g", b"b", 0, ["2-0"], justid=True), [b"2-0"])
    ck.eq("XCLAIM JUSTID did not count a delivery", lambda: delivery(r, k, b"g", "2-0")[:2], (b"b", 1))
    ck.eq("XCLAIM with a high min-idle claims nothing", lambda: r.xclaim(k, b"g", b"c", 3600000, ["3-0"]), [])
    ck.eq("3-0 still belongs to a", lambda: delivery(r, k, b"g", "3-0")[:2], (b"a", 1))
    ck.eq("XCLAIM IDLE 5000 RETRYCOUNT 7 JUSTID", lambda: r.xclaim(k, b"g", b"c", 0, ["3-0"], idle=5000, retrycount=7, justid=True), [b"3-0"])
    owner, count, idle = delivery(r, k, b"g", "3-0")
    ck.eq("XCLAIM RETRYCOUNT set the count", lambda: (owner, count), (b"c", 7))
    ck.true("XCLAIM IDLE 5000 set the idle time", lambda: 5000 <= idle < 65000, idle)
    ck.eq("XCLAIM RETRYCOUNT 3 without JUSTID", lambda: ids(r.xclaim(k, b"g", b"c", 0, ["4-0"], retrycount=3)), [b"4-0"])
    ck.eq("XCLAIM RETRYCOUNT without JUSTID", lambda: delivery(r, k, b"g", "4-0")[:2], (b"c", 3))
    t = int(time.time() * 1000) - 200000
    ck.eq("XCLAIM TIME", lambda: r.xclaim(k, b"g", b"a", 0, ["4-0"], time=t, justid=True), [b"4-0"])
    owner, count, idle = delivery(r, k, b"g", "4-0")
    ck.true("XCLAIM TIME set the idle time to about 200 s", lambda: owner == b"a" and 199000 <= idle < 260000, (owner, idle))
    ck.eq("XCLAIM min-idle 150000 now claims 4-0", lambda: r.xclaim(k, b"g", b"b", 150000, ["4-0", "3-0"], justid=True), [b"4-0"])
    ck.eq("XCLAIM of an entry not pending, no FORCE", lambda: r.xclaim(k, b"g", b"b", 0, ["5-0"]), [])
    ck.eq("5-0 still not pending", lambda: delivery(r, k, b"g", "5-0"), None)
    ck.eq("XCLAIM FORCE", lambda: r.xclaim(k, b"g", b"b", 0, ["5-0"], force=True), [(b"5-0", {b"n": b"5"})])
    ck.eq("XCLAIM FORCE made 5-0 pending for b, delivered twice", lambda: delivery(r, k, b"g", "5-0")[:2], (b"b", 2))
    ck.eq("XCLAIM FORCE of an ID not in the stream", lambda: r.xclaim(k, b"g", b"b", 0, ["99-0"], force=True, justid=True), [])
    ck.eq("XCLAIM of several IDs keeps their order", lambda: r.xclaim(k, b"g", b"d", 0, ["2-0", "1-0"], justid=True), [b"2-0", b"1-0"])
    r.xdel(k, "2-0")
    ck.eq("XCLAIM of a deleted pending entry returns nothing", lambda: r.xclaim(k, b"g", b"a", 0, ["2-0"]), [])
    ck.eq("and drops it from the PEL", lambda: delivery(r, k, b"g", "2-0"), None)
    ck.eq("XINFO CONSUMERS pending after XCLAIM", lambda: {n: c["pending"] for n, c in consumer_info(r, k, b"g").items()},
          {b"a": 0, b"b": 2, b"c": 1, b"d": 1})
    ck.error("XCLAIM missing group", raw, ["XCLAIM", k, "nog", "c", "0", "1-0"], "NOGROUP No such key 's:claim' or consumer group 'nog'")
    ck.error("XCLAIM invalid ID", raw, ["XCLAIM", k, "g", "c", "0", "1-q"], "ERR Unrecognized XCLAIM option '1-q'")
    ck.error("XCLAIM without IDs", raw, ["XCLAIM", k, "g", "c", "0"], "ERR wrong number of arguments for 'xclaim' command")
    ck.error("XCLAIM bad min-idle", raw, ["XCLAIM", k, "g", "c", "x", "1-0"], "ERR Invalid min-idle-time argument for XCLAIM")

    # XAUTOCLAIM: Redis 7 answers [next cursor, entries, deleted IDs].
    ka = b"s:auto"
    for i in range(1, 6):
        r.xadd(ka, {b"n": str(i).encode()}, id="%d-0" % i)
    r.xgroup_create(ka, b"g", id="0")
    r.xreadgroup(b"g", b"a", {ka: ">"})
    ck.eq("XAUTOCLAIM COUNT 2", lambda: r.xautoclaim(ka, b"g", b"b", 0, "0-0", count=2),
          [b"3-0", [(b"1-0", {b"n": b"1"}), (b"2-0", {b"n": b"2"})], []])
    ck.eq("XAUTOCLAIM from the cursor, JUSTID", lambda: r.xautoclaim(ka, b"g", b"b", 0, "3-0", count=2, justid=True), [b"3-0", b"4-0"])
    ck.eq("XAUTOCLAIM JUSTID raw reply", lambda: raw.call("XAUTOCLAIM", ka, "g", "c", "0", "5-0", "JUSTID"), [b"0-0", [b"5-0"], []])
    ck.eq("XAUTOCLAIM with a high min-idle", lambda: r.xautoclaim(ka, b"g", b"c", 3600000, "0-0"), [b"0-0", [], []])
    r.xdel(ka, "2-0")
    ck.eq("XAUTOCLAIM reports a deleted pending entry (raw)", lambda: raw.call("XAUTOCLAIM", ka, "g", "c", "0", "0-0", "COUNT", "10"),
          [b"0-0", [[b"1-0", [b"n", b"1"]], [b"3-0", [b"n", b"3"]], [b"4-0", [b"n", b"4"]], [b"5-0", [b"n", b"5"]]], [b"2-0"]])
    ck.eq("XPENDING after XAUTOCLAIM", lambda: r.xpending(ka, b"g"),
          {"pending": 4, "min": b"1-0", "max": b"5-0", "consumers": [{"name": b"c", "pending": 4}]})
    ck.eq("XPENDING delivery counts after XAUTOCLAIM",
          lambda: [(d["message_id"], d["times_delivered"]) for d in r.xpending_range(ka, b"g", "-", "+", 10)],
          [(b"1-0", 3), (b"3-0", 2), (b"4-0", 2), (b"5-0", 2)])
    ck.error("XAUTOCLAIM missing group", raw, ["XAUTOCLAIM", ka, "nog", "c", "0", "0"], "NOGROUP No such key 's:auto' or consumer group 'nog'")
    ck.error("XAUTOCLAIM COUNT 0", raw, ["XAUTOCLAIM", ka, "g", "c", "0", "0", "COUNT", "0"], "ERR COUNT must be > 0")


def check_handoff(ck, r, raw, port):
    k = b"s:jobs"
    r.xgroup_create(k, b"workers", id="$", mkstream=True)
    for i in range(1, 6):
        r.xadd(k, {b"job": str(i).encode()}, id="%d-0" % i)
    a = connect(port)
    got = a.xreadgroup(b"workers", b"A", {k: ">"}, count=3)
    ck.eq("consumer A reads three jobs", lambda: ids(got[0][1]) if got else [], [b"1-0", b"2-0", b"3-0"])
    a.close()  # A dies without acking
    b = connect(port)
    claimed = b.xautoclaim(k, b"workers", b"B", 0, "0-0")
    ck.eq("consumer B takes A's jobs with XAUTOCLAIM", claimed,
          [b"0-0", [(b"1-0", {b"job": b"1"}), (b"2-0", {b"job": b"2"}), (b"3-0", {b"job": b"3"})], []])
    ck.eq("XPENDING shows B owns them", lambda: r.xpending(k, b"workers"),
          {"pending": 3, "min": b"1-0", "max": b"3-0", "consumers": [{"name": b"B", "pending": 3}]})
    ck.eq("B acks them", lambda: b.xack(k, b"workers", b"1-0", b"2-0", b"3-0"), 3)
    ck.eq("B reads the rest", lambda: ids(b.xreadgroup(b"workers", b"B", {k: ">"})[0][1]), [b"4-0", b"5-0"])
    ck.eq("B acks the rest", lambda: b.xack(k, b"workers", b"4-0", b"5-0"), 2)
    ck.eq("nothing pending after the hand-off", lambda: r.xpending(k, b"workers")["pending"], 0)
    consumers = consumer_info(r, k, b"workers")
    ck.eq("XINFO CONSUMERS after the hand-off", lambda: {n: c["pending"] for n, c in consumers.items()}, {b"A": 0, b"B": 0})
    ck.true("XINFO CONSUMERS idle >= 0", lambda: all(isinstance(c["idle"], int) and c["idle"] >= 0 for c in consumers.values()), consumers)
    ck.eq("XINFO GROUPS after the hand-off", lambda: group_info(r, k).get(b"workers"),
          {"name": b"workers", "consumers": 2, "pending": 0, "last-delivered-id": b"5-0", "entries-read": 5, "lag": 0})
    b.close()


def check_xsetid(ck, r, raw, port):
    k = b"s:setid"
    r.xadd(k, {b"a": b"1"}, id="5-0")
    ck.eq("XSETID 100-0", lambda: raw.call("XSETID", k, "100-0"), b"OK")
    ck.error("XADD below XSETID's ID", raw, ["XADD", k, "50-0", "a", "1"], ERR_TOP_ITEM)
    ck.eq("XADD 100-* after XSETID", lambda: r.xadd(k, {b"a": b"2"}, id="100-*"), b"100-1")
    ck.error("XSETID below the top entry", raw, ["XSETID", k, "1-0"],
             "ERR The ID specified in XSETID is smaller than the target stream top item")
    ck.error("XSETID on a missing key", raw, ["XSETID", "s:setid:missing", "1-0"], "ERR no such key")
    ck.eq("XINFO STREAM last-generated-id after XSETID", lambda: r.xinfo_stream(k).get("last-generated-id"), b"100-1")


def check_edges(ck, r, raw, port):
    k = b"s:edge"
    for stream_id in ["1-1", "1-2", "2-0"]:
        r.xadd(k, {b"a": b"1"}, id=stream_id)
    ck.eq("XRANGE (1 + (exclusive incomplete start is 1-0)", ids(r.xrange(k, "(1", "+")), [b"1-1", b"1-2", b"2-0"])
    ck.eq("XRANGE - (2 (exclusive incomplete end is 2-max)", ids(r.xrange(k, "-", "(2")), [b"1-1", b"1-2", b"2-0"])
    ck.eq("XREVRANGE (2 -", ids(r.xrevrange(k, "(2", "-")), [b"2-0", b"1-2", b"1-1"])
    ck.eq("XRANGE (1-2 (2-0", r.xrange(k, "(1-2", "(2-0"), [])
    ck.eq("XREAD COUNT 0 means no limit (raw)", raw.call("XREAD", "COUNT", "0", "STREAMS", k, "0"),
          [[k, [[b"1-1", [b"a", b"1"]], [b"1-2", [b"a", b"1"]], [b"2-0", [b"a", b"1"]]]]])
    r.xgroup_create(k, b"g", id="0")
    r.xreadgroup(b"g", b"c1", {k: ">"}, count=2)
    ck.eq("XPENDING with COUNT -1 (raw)", raw.call("XPENDING", k, "g", "-", "+", "-1"), [])
    ck.eq("XACK of one ID twice in one call", r.xack(k, b"g", "1-1", "1-1"), 1)
    ck.eq("XDEL of one ID twice in one call", r.xdel(k, "2-0", "2-0"), 1)
    ck.eq("XREADGROUP that returns nothing (raw)", raw.call("XREADGROUP", "GROUP", "g", "c9", "STREAMS", k, "0"), [[k, []]])
    ck.eq("... still makes the consumer", sorted(consumer_info(r, k, b"g")), [b"c1", b"c9"])
    ck.eq("lower-case command and options", raw.call("xadd", k, "maxlen", "=", "10", "nomkstream", "3-0", "a", "1"), b"3-0")
    ck.eq("lower-case XGROUP subcommand and option", raw.call("xgroup", "create", b"s:edge:lc", "g", "$", "mkstream"), b"OK")
    ck.eq("mixed-case XINFO subcommand", pairs(raw.call("xInfo", "Stream", k)).get(b"length"), 3)
    ck.eq("XADD NOMKSTREAM MAXLEN on a missing key", raw.call("XADD", b"s:edge:none", "NOMKSTREAM", "MAXLEN", "1", "*", "a", "1"), None)
    ck.eq("XTRIM MINID past every entry", r.xtrim(k, minid="99-0", approximate=False), 3)
    ck.eq("XINFO STREAM after trimming everything",
          [r.xinfo_stream(k).get(f) for f in ["length", "last-generated-id", "entries-added", "first-entry"]],
          [0, b"3-0", 4, None])

    # The largest IDs.
    m = b"s:edge:max"
    ck.eq("XADD 1-<max seq>", r.xadd(m, {b"a": b"1"}, id="1-18446744073709551615"), b"1-18446744073709551615")
    ck.error("XADD 1-* after 1-<max seq>", raw, ["XADD", m, "1-*", "a", "1"], "ERR Elements are too large to be stored")
    ck.eq("XADD 2-* after 1-<max seq>", r.xadd(m, {b"a": b"1"}, id="2-*"), b"2-0")
    top = b"18446744073709551615-18446744073709551615"
    ck.eq("XADD the largest ID", r.xadd(m, {b"a": b"1"}, id=top), top)
    ck.error("XADD * after the largest ID", raw, ["XADD", m, "*", "a", "1"],
             "ERR The stream has exhausted the last possible ID, unable to add more items")
    ck.error("XADD <max ms>-* after the largest ID", raw, ["XADD", m, "18446744073709551615-*", "a", "1"],
             "ERR The stream has exhausted the last possible ID, unable to add more items")
    ck.eq("XRANGE up to the largest ID", ids(r.xrange(m, "2", "+")), [b"2-0", top])
    ck.eq("XREVRANGE + from the largest ID COUNT 1", ids(r.xrevrange(m, count=1)), [top])

    # DEL and XADD again: a new stream, counters from zero.
    r.delete(m)
    ck.eq("XADD 1-1 after DEL", r.xadd(m, {b"a": b"1"}, id="1-1"), b"1-1")
    info = r.xinfo_stream(m)
    ck.eq("XINFO STREAM of the recreated stream", [info.get(f) for f in ["length", "entries-added", "groups", "max-deleted-entry-id"]],
          [1, 1, 0, b"0-0"])

    # XINFO STREAM FULL, in its parts that do not depend on time.
    f = b"s:edge:full"
    for stream_id in ["1-0", "2-0", "3-0"]:
        r.xadd(f, {b"n": stream_id}, id=stream_id)
    r.xgroup_create(f, b"g", id="0")
    r.xreadgroup(b"g", b"alice", {f: ">"}, count=2)
    reply = raw.call("XINFO", "STREAM", f, "FULL")
    if not ck.true("XINFO STREAM FULL answers an array", isinstance(reply, list), reply):
        return
    full = pairs(reply)
    ck.eq("XINFO STREAM FULL scalars", [full.get(x) for x in [b"length", b"last-generated-id", b"entries-added",
                                                              b"max-deleted-entry-id", b"recorded-first-entry-id"]],
          [3, b"3-0", 3, b"0-0", b"1-0"])
    ck.eq("XINFO STREAM FULL entries", full.get(b"entries"),
          [[b"1-0", [b"n", b"1-0"]], [b"2-0", [b"n", b"2-0"]], [b"3-0", [b"n", b"3-0"]]])
    groups = full.get(b"groups")
    ck.true("XINFO STREAM FULL has one group", isinstance(groups, list) and len(groups) == 1, groups)
    if isinstance(groups, list) and len(groups) == 1:
        group = pairs(groups[0])
        ck.eq("XINFO STREAM FULL group fields", [group.get(x) for x in [b"name", b"last-delivered-id", b"entries-read", b"lag", b"pel-count"]],
              [b"g", b"2-0", 2, 1, 2])
        pel = group.get(b"pending")
        ck.eq("XINFO STREAM FULL group PEL (ID, consumer, count)", [[p[0], p[1], p[3]] for p in pel] if isinstance(pel, list) else pel,
              [[b"1-0", b"alice", 1], [b"2-0", b"alice", 1]])
        ck.true("XINFO STREAM FULL PEL delivery times are ints", isinstance(pel, list) and all(isinstance(p[2], int) for p in pel), pel)
        consumers = group.get(b"consumers")
        ck.true("XINFO STREAM FULL has one consumer", isinstance(consumers, list) and len(consumers) == 1, consumers)
        if isinstance(consumers, list) and len(consumers) == 1:
            consumer = pairs(consumers[0])
            ck.eq("XINFO STREAM FULL consumer fields", [consumer.get(x) for x in [b"name", b"pel-count"]], [b"alice", 2])
            ck.true("XINFO STREAM FULL consumer seen-time is an int", isinstance(consumer.get(b"seen-time"), int), consumer)
            ck.eq("XINFO STREAM FULL consumer PEL (ID, count)",
                  [[p[0], p[2]] for p in consumer.get(b"pending") or []], [[b"1-0", 1], [b"2-0", 1]])
    full = pairs(raw.call("XINFO", "STREAM", f, "FULL", "COUNT", "1"))
    ck.eq("XINFO STREAM FULL COUNT 1 entries", full.get(b"entries"), [[b"1-0", [b"n", b"1-0"]]])


def check_blocking_fanout(ck, r, raw, port):
    k = b"s:fan"
    r.xadd(k, {b"a": b"0"}, id="1-0")
    # Two XREAD readers on the same ID: one XADD wakes both, with the same entry.
    readers = [connect(port) for _ in range(2)]
    joins = [blocked_call(lambda c=c: c.xread({k: "1-0"}, count=1, block=5000)) for c in readers]
    r.xadd(k, {b"a": b"1"}, id="2-0")
    for n, join in enumerate(joins):
        result, error, seconds = join()
        ck.eq("XREAD BLOCK reader %d woken by one XADD" % n, (result, error), ([[k, [(b"2-0", {b"a": b"1"})]]], None))
    # Two consumers of one group blocked on >: one XADD is delivered to exactly one of them.
    r.xgroup_create(k, b"g", id="$")
    joins = [blocked_call(lambda c=c, n=n: c.xreadgroup(b"g", ("c%d" % n).encode(), {k: ">"}, block=1500))
             for n, c in enumerate(readers)]
    r.xadd(k, {b"a": b"2"}, id="3-0")
    results = [join() for join in joins]
    ck.eq("XREADGROUP BLOCK consumers raised nothing", [e for _, e, _ in results], [None, None])
    got = sorted(repr(res) for res, _, _ in results)
    ck.eq("XREADGROUP BLOCK: exactly one consumer gets the entry, the other times out",
          got, sorted([repr([]), repr([[k, [(b"3-0", {b"a": b"2"})]]])]))
    ck.eq("XPENDING after the two blocked consumers", r.xpending(k, b"g")["pending"], 1)
    for c in readers:
        c.close()


def check_concurrent_producers_and_consumers(ck, r, raw, port):
    """Two producers XADD `*` from their own connections while a tail reader (XREAD BLOCK from
    the last ID it saw) and three consumers of one group (XREADGROUP BLOCK >, XACK) run: the
    reader sees every entry once, in ID order; the group delivers each entry to exactly one
    consumer, and nothing is left pending."""
    k = b"s:conc"
    # Each XADD waits for its fsync: on a disk shared with other jobs 400 of them can take
    # longer than DEADLINE, so the readers (which stop as soon as they have everything) get
    # more time than that.
    deadline = 6 * DEADLINE
    per_producer, producers = 200, 2
    total = per_producer * producers
    r.xgroup_create(k, b"g", id="$", mkstream=True)
    added = [[] for _ in range(producers)]
    errors = []
    stop = threading.Event()

    def produce(n):
        try:
            client = connect(port)
            for i in range(per_producer):
                added[n].append(client.xadd(k, {b"p": str(n).encode(), b"i": str(i).encode()}))
            client.close()
        except Exception as e:
            errors.append("producer %d: %s" % (n, where(e)))

    tailed = []

    def tail():
        try:
            client = connect(port)
            last = b"0-0"
            until = time.monotonic() + deadline
            while len(tailed) < total and time.monotonic() < until and not stop.is_set():
                for _, entries in client.xread({k: last}, count=50, block=500):
                    tailed.extend(ids(entries))
                    last = entries[-1][0]
            client.close()
        except Exception as e:
            errors.append("tail: " + where(e))

    consumed = {}
    lock = threading.Lock()

    def consume(name):
        try:
            client = connect(port)
            until = time.monotonic() + deadline
            while time.monotonic() < until and not stop.is_set():
                with lock:
                    if sum(len(v) for v in consumed.values()) >= total:
                        break
                for _, entries in client.xreadgroup(b"g", name, {k: ">"}, count=10, block=200):
                    got = ids(entries)
                    if got:
                        client.xack(k, b"g", *got)
                    with lock:
                        consumed.setdefault(name, []).extend(got)
            client.close()
        except Exception as e:
            errors.append("consumer %r: %s" % (name, where(e)))

    threads = [threading.Thread(target=tail, daemon=True)]
    threads += [threading.Thread(target=consume, args=(("c%d" % n).encode(),), daemon=True) for n in range(3)]
    threads += [threading.Thread(target=produce, args=(n,), daemon=True) for n in range(producers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(deadline + 2)
    stop.set()
    ck.eq("no thread raised or hung", (errors, [t.name for t in threads if t.is_alive()]), ([], []))
    everything = sorted(sum(added, []), key=parse_id)
    ck.eq("every XADD * answered an ID", len(everything), total)
    ck.eq("each producer's IDs increase", [a == sorted(a, key=parse_id) for a in added], [True] * producers)
    ck.eq("the tail reader saw every entry once, in ID order", tailed, everything)
    delivered = sum(consumed.values(), [])
    ck.eq("the group delivered every entry exactly once", sorted(delivered, key=parse_id), everything)
    ck.eq("nothing pending after the consumers acked", r.xpending(k, b"g")["pending"], 0)
    ck.eq("XLEN after the producers", r.xlen(k), total)


SECTIONS = [
    check_keyspace_and_hostile_keys,
    check_xadd,
    check_ranges,
    check_xread,
    check_xdel_xtrim,
    check_xinfo_stream,
    check_xgroup,
    check_xreadgroup,
    check_xpending,
    check_xclaim,
    check_handoff,
    check_xsetid,
    check_edges,
    check_blocking_fanout,
    check_concurrent_producers_and_consumers,
]


def main():
    port = int(sys.argv[1])
    ck = Checker()
    client = connect(port)
    if client.ping() is not True:
        print("streams.py: PING failed", file=sys.stderr)
        sys.exit(1)
    started = time.monotonic()
    for section in SECTIONS:
        ck.section = section.__name__
        if time.monotonic() - started > BUDGET:
            ck.fail("skipped", "the script ran past its %d s budget (replies timing out?)" % BUDGET)
            continue
        raw = Raw(port)
        try:
            section(ck, client, raw, port)
        except Exception as e:
            ck.fail("section stopped by an exception", where(e))
            # A reply may be left unread: start over on fresh connections.
            client = connect(port)
        finally:
            raw.close()
    if ck.failures:
        for failure in ck.failures:
            print("streams.py: MISMATCH " + failure, file=sys.stderr)
        print("streams.py: %d mismatches (%d checks run)" % (len(ck.failures), ck.checks), file=sys.stderr)
        sys.exit(1)
    print("streams.py: ok (%d checks)" % ck.checks)


if __name__ == "__main__":
    main()
