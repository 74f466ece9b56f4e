"""redis-py with a password against a server on 127.0.0.1:PORT started with `--requirepass PW`.

Usage: /usr/bin/python3 tests/clients/auth.py PORT PW
Exits 0 when every check passes; otherwise prints what differed and exits 1.
"""

import sys

import redis

DEADLINE = 10.0


def fail(message):
    print("auth.py: " + message, file=sys.stderr)
    sys.exit(1)


def main():
    port, password = int(sys.argv[1]), sys.argv[2]

    anonymous = redis.Redis(host="127.0.0.1", port=port, socket_timeout=DEADLINE)
    try:
        anonymous.ping()
        fail("PING without a password was answered")
    except redis.exceptions.AuthenticationError as e:
        if "Authentication required" not in str(e):
            fail("unexpected NOAUTH text: %s" % e)

    wrong = redis.Redis(host="127.0.0.1", port=port, password="not-" + password, socket_timeout=DEADLINE)
    try:
        wrong.ping()
        fail("PING with a wrong password was answered")
    except (redis.exceptions.AuthenticationError, redis.exceptions.ResponseError) as e:
        if "invalid username-password pair" not in str(e):
            fail("unexpected WRONGPASS text: %s" % e)

    for client in [
        redis.Redis(host="127.0.0.1", port=port, password=password, socket_timeout=DEADLINE),
        redis.Redis(host="127.0.0.1", port=port, username="default", password=password, socket_timeout=DEADLINE),
        redis.Redis.from_url("redis://:%s@127.0.0.1:%d/0" % (password, port), socket_timeout=DEADLINE),
    ]:
        if client.ping() is not True:
            fail("PING after AUTH")
        sub = client.pubsub()
        sub.subscribe("secured")
        confirmation = sub.get_message(timeout=DEADLINE)
        if not confirmation or confirmation["type"] != "subscribe":
            fail("SUBSCRIBE after AUTH: %r" % (confirmation,))
        if client.publish("secured", "m") != 1:
            fail("PUBLISH after AUTH")
        message = sub.get_message(timeout=DEADLINE)
        if not message or message["data"] != b"m":
            fail("message after AUTH: %r" % (message,))
        sub.close()
    print("auth.py: ok")


if __name__ == "__main__":
    main()
