"""redis-py pub/sub against a server on 127.0.0.1:PORT (redis-server or nanostream-broker).

Usage: /usr/bin/python3 tests/clients/pubsub.py PORT
Exits 0 when every check passes; otherwise prints what differed and exits 1.
Every wait is bounded: a message that never comes fails after DEADLINE seconds.
"""

import sys
import time

import redis

DEADLINE = 10.0


def fail(message):
    print("pubsub.py: " + message, file=sys.stderr)
    sys.exit(1)


def next_message(pubsub, what):
    """The next message (subscribe confirmations included), or a failure after DEADLINE."""
    until = time.monotonic() + DEADLINE
    while time.monotonic() < until:
        message = pubsub.get_message(timeout=0.5)
        if message is not None:
            return message
    fail("no message within %ss while waiting for %s" % (DEADLINE, what))


def expect(pubsub, **want):
    got = next_message(pubsub, repr(want))
    for key, value in want.items():
        if got.get(key) != value:
            shown = {k: (v if not isinstance(v, bytes) or len(v) < 80 else v[:80] + b"...") for k, v in got.items()}
            fail("expected %r=%r, got message %r" % (key, value if len(repr(value)) < 200 else "<long>", shown))
    return got


def check_channels(client):
    sub = client.pubsub()
    sub.subscribe("ch", "other")
    expect(sub, type="subscribe", channel=b"ch", data=1)
    expect(sub, type="subscribe", channel=b"other", data=2)
    if client.publish("ch", "hello") != 1:
        fail("PUBLISH ch should reach one subscriber")
    expect(sub, type="message", channel=b"ch", data=b"hello", pattern=None)
    numsub = client.pubsub_numsub("ch", "other", "none")
    if numsub != [(b"ch", 1), (b"other", 1), (b"none", 0)]:
        fail("PUBSUB NUMSUB: %r" % (numsub,))
    if sorted(client.pubsub_channels()) != [b"ch", b"other"]:
        fail("PUBSUB CHANNELS: %r" % (client.pubsub_channels(),))
    sub.unsubscribe("other")
    expect(sub, type="unsubscribe", channel=b"other", data=1)
    if client.publish("other", "x") != 0:
        fail("PUBLISH other after UNSUBSCRIBE should reach nobody")
    # PING while subscribed comes back as a pong message.
    sub.ping("are you there")
    expect(sub, type="pong", data=b"are you there")
    sub.close()


def check_patterns(client):
    sub = client.pubsub()
    sub.psubscribe("news.*", "h[ae]llo", "h\\*llo")
    for count, pattern in enumerate([b"news.*", b"h[ae]llo", b"h\\*llo"], start=1):
        expect(sub, type="psubscribe", channel=pattern, data=count)
    if client.pubsub_numpat() != 3:
        fail("PUBSUB NUMPAT: %r" % client.pubsub_numpat())
    for channel, pattern in [(b"news.tech", b"news.*"), (b"hallo", b"h[ae]llo"), (b"h*llo", b"h\\*llo")]:
        if client.publish(channel, b"p:" + channel) != 1:
            fail("PUBLISH %r should reach one pattern" % channel)
        expect(sub, type="pmessage", pattern=pattern, channel=channel, data=b"p:" + channel)
    for channel in [b"news", b"hillo", b"hxllo"]:
        if client.publish(channel, b"x") != 0:
            fail("PUBLISH %r should match no pattern" % channel)
    sub.punsubscribe()
    left = sorted(expect(sub, type="punsubscribe")["data"] for _ in range(3))
    if left != [0, 1, 2]:
        fail("PUNSUBSCRIBE counts: %r" % left)
    sub.close()


def check_binary(client):
    sub = client.pubsub()
    channel = bytes(range(256))  # a binary channel name, too
    sub.subscribe(channel)
    expect(sub, type="subscribe", channel=channel)
    payloads = [
        bytes(range(256)),
        b"line one\r\nline two\r\n",
        b"\r\n",
        b"*1\r\n$4\r\nPING\r\n",  # a command inside a payload is only data
        b"",
        b"\x00" * 1000,
        bytes(range(256)) * 4096,  # 1 MiB
    ]
    for payload in payloads:
        if client.publish(channel, payload) != 1:
            fail("PUBLISH of a %d-byte payload should reach one subscriber" % len(payload))
    for payload in payloads:
        expect(sub, type="message", channel=channel, data=payload)
    sub.close()


def check_pipeline(client):
    sub = client.pubsub()
    sub.subscribe("seq")
    expect(sub, type="subscribe", channel=b"seq")
    pipe = client.pipeline(transaction=False)
    for i in range(1000):
        pipe.publish("seq", str(i))
    replies = pipe.execute()
    if replies != [1] * 1000:
        fail("pipelined PUBLISH replies: %r" % [r for r in replies if r != 1][:5])
    for i in range(1000):
        expect(sub, type="message", channel=b"seq", data=str(i).encode())
    # A pipeline mixing commands returns each reply in order.
    pipe = client.pipeline(transaction=False)
    pipe.ping()
    pipe.echo("e")
    pipe.publish("nobody", "x")
    replies = pipe.execute()
    if replies != [True, b"e", 0]:
        fail("mixed pipeline: %r" % (replies,))
    sub.close()


def main():
    port = int(sys.argv[1])
    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=DEADLINE)
    if client.ping() is not True:
        fail("PING")
    check_channels(client)
    check_patterns(client)
    check_binary(client)
    check_pipeline(client)
    print("pubsub.py: ok")


if __name__ == "__main__":
    main()
