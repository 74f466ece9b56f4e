r"""The broker's dashboard in headless Chromium, driven by Selenium.

Loads the page from the broker's HTTP listener, waits for its stats feed to go live, makes
traffic over RESP (a burst of PUBLISH to a subscribed channel, XADD to a topic, a consumer
group that reads part of it) and waits until the page shows it; checks the browser's console
holds no error or warning; saves a screenshot. With --password, the broker needs one: the page
must ask for it, refuse a wrong one and go live with the right one. With --readme, runs the
README's ```js WebSocket example in the page against this broker. With --demo SECONDS, makes
varied traffic for that long before the screenshot (the picture in docs/). With --broker BINARY,
the script starts the broker itself (on the given ports and --data-dir), stops it while the page
is live and starts it again: the page must show "disconnected", then go live again by itself.

Exits 0 when every check passed; otherwise prints what was expected and what the page showed,
and exits 1. Every wait has a deadline and polls; nothing sleeps a fixed time to let something
happen.

Needs /usr/bin/python3 with Debian's python3-selenium and python3-redis, and Debian's
chromium and chromium-driver (`.ci/run` installs them). `cargo test --test broker_dashboard`
runs it; to remake docs/dashboard.png, against a broker started with `--http-port 8080`:

    /usr/bin/python3 tests/browser/dashboard.py --url http://127.0.0.1:8080 --resp-port 6380 \
        --screenshot docs/dashboard.png --demo 150
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from urllib.parse import unquote

import redis
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
DEADLINE = 20.0  # seconds for any one thing the page should show
BURST = 2000  # PUBLISHes in the burst
TOPIC = "dash.orders"
TOPIC_ENTRIES = 50
GROUP = "workers"
GROUP_READ = 10  # entries the group's consumer reads and leaves pending

failures = []


class CheckFailed(Exception):
    """A check that cannot go on (the rest would only repeat the failure)."""


def log(message):
    print("dashboard.py: " + message, flush=True)


def fail(message):
    failures.append(message)
    log("FAIL: " + message)


def wait_until(what, probe, deadline=DEADLINE):
    """Polls `probe` until it returns a true value; fails with its last value at the deadline."""
    until = time.monotonic() + deadline
    last = None
    while True:
        try:
            last = probe()
        except WebDriverException as e:  # an element replaced mid-read: try again
            last = "error: " + e.__class__.__name__
        else:
            if last:
                return last
        if time.monotonic() >= until:
            raise CheckFailed("%s: not within %.0f s (last seen: %r)" % (what, deadline, last))
        time.sleep(0.1)


def start_browser(width, height):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="nanostream-dashboard-")
    for arg in [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--user-data-dir=" + profile,
        "--window-size=%d,%d" % (width, height),
    ]:
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    return driver, profile


class Console:
    """Every browser console entry seen so far (chromedriver hands each out once)."""

    def __init__(self, driver):
        self.driver = driver
        self.entries = []

    def collect(self):
        self.entries.extend(self.driver.get_log("browser"))
        return self.entries


def text(driver, css):
    return driver.find_element(By.CSS_SELECTOR, css).text.strip()


def value(driver, element_id):
    """The number an element shows (its data-value, written with the text)."""
    raw = driver.find_element(By.ID, element_id).get_attribute("data-value")
    return float(raw) if raw not in (None, "") else None


def connect(args):
    return redis.Redis(host="127.0.0.1", port=args.resp_port, password=args.password,
                       socket_timeout=10)


def log_in(driver, password):
    """The page asks for the password, refuses a wrong one, goes live with the right one."""
    form = driver.find_element(By.ID, "password-form")
    wait_until("#password-form shown (the broker needs a password)", form.is_displayed)
    field = driver.find_element(By.ID, "password")
    field.send_keys("not-" + password)
    driver.find_element(By.ID, "password-submit").click()
    wait_until(
        "#password-message saying the password was wrong",
        lambda: "wrong" in text(driver, "#password-message").lower()
        and driver.find_element(By.ID, "password-form").is_displayed(),
    )
    field = driver.find_element(By.ID, "password")
    field.send_keys(password)
    driver.find_element(By.ID, "password-submit").click()
    stored = driver.execute_script("return sessionStorage.getItem('nanostream.password')")
    if stored != password:
        fail("sessionStorage holds %r, not the password typed" % (stored,))


def group_chip(driver, topic, group):
    row = driver.find_element(By.CSS_SELECTOR, '#topics tr[data-topic="%s"]' % topic)
    chip = row.find_element(By.CSS_SELECTOR, '.group[data-group="%s"]' % group)
    return {
        "lag": chip.find_element(By.CSS_SELECTOR, ".lag").text,
        "pending": chip.find_element(By.CSS_SELECTOR, ".pending").text,
    }


def row_cell(driver, table, attr, key, field):
    css = '#%s tr[%s="%s"] td[data-field="%s"]' % (table, attr, key, field)
    cells = driver.find_elements(By.CSS_SELECTOR, css)
    return cells[0].text.strip() if cells else None


def canvas_painted(driver):
    """How many pixels of #rate-chart are not transparent."""
    return driver.execute_script(
        """
        const c = document.getElementById('rate-chart');
        if (!c.width || !c.height) return 0;
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) n += 1;
        return n;
        """
    )


def traffic_check(driver, args):
    """A burst of PUBLISH and some XADD over RESP; the page must show them."""
    before = value(driver, "messages-in-total")
    log("messages in before the burst: %s" % before)
    r = connect(args)
    # A subscriber that reads, so the channel is listed and messages go out.
    received = []
    pubsub = r.pubsub()
    pubsub.subscribe(**{"dash.news": lambda m: received.append(m)})
    reader = pubsub.run_in_thread(sleep_time=0.01, daemon=True)
    try:
        wait_until("the subscriber counted by PUBSUB NUMSUB",
                   lambda: dict(r.pubsub_numsub("dash.news")).get(b"dash.news") == 1)
        pipe = r.pipeline(transaction=False)
        for i in range(BURST):
            pipe.publish("dash.news", "message %d" % i)
        replies = pipe.execute()
        if replies != [1] * BURST:
            fail("PUBLISH receiver counts: expected %d ones, got %r..." % (BURST, replies[:5]))
        r.delete(TOPIC)
        pipe = r.pipeline(transaction=False)
        for i in range(TOPIC_ENTRIES):
            pipe.xadd(TOPIC, {"n": str(i), "item": "widget"})
        pipe.execute()
        r.xgroup_create(TOPIC, GROUP, id="0")
        r.xreadgroup(GROUP, "c1", {TOPIC: ">"}, count=GROUP_READ)
        wait_until("the subscriber receiving the burst", lambda: len(received) >= BURST)

        total = wait_until(
            "#messages-in-total at least %d above %s" % (BURST, before),
            lambda: (v := value(driver, "messages-in-total")) is not None
            and v >= (before or 0) + BURST and v,
        )
        log("messages in after the burst: %s (text %r)"
            % (total, text(driver, "#messages-in-total")))
        wait_until(
            "#channels row dash.news with 1 subscriber",
            lambda: row_cell(driver, "channels", "data-channel", "dash.news", "subscribers") == "1",
        )
        wait_until(
            "#topics row %s with length %d" % (TOPIC, TOPIC_ENTRIES),
            lambda: row_cell(driver, "topics", "data-topic", TOPIC, "length")
            == str(TOPIC_ENTRIES),
        )
        expected = {"lag": str(TOPIC_ENTRIES - GROUP_READ), "pending": str(GROUP_READ)}
        wait_until("group %s of %s showing %r" % (GROUP, TOPIC, expected),
                   lambda: group_chip(driver, TOPIC, GROUP) == expected)
        last_id = r.xinfo_stream(TOPIC)["last-generated-id"].decode()
        wait_until("#topics %s last ID %s" % (TOPIC, last_id),
                   lambda: row_cell(driver, "topics", "data-topic", TOPIC, "last-id") == last_id)
        wait_until("#rate-chart drawn (painted pixels)", lambda: canvas_painted(driver))
        for element_id in ["clients", "commands-rate", "messages-in-rate", "messages-out-rate"]:
            if value(driver, element_id) is None:
                fail("#%s shows no number (text %r)" % (element_id, text(driver, "#" + element_id)))
        ring = driver.find_element(By.ID, "ring-fill")
        if ring.get_attribute("data-capacity") in (None, "", "0"):
            fail("#ring-fill has no capacity: %r" % ring.text)
        if not driver.find_elements(By.CSS_SELECTOR, "#disconnections tr[data-reason]"):
            fail("#disconnections lists no reason")
    finally:
        reader.stop()  # the worker thread closes the pubsub connection as it ends
        reader.join(10)
        r.close()


# ---- the README's browser example -----------------------------------------------------------

TRACK_SOCKETS = """
window.__readme = {sockets: [], logs: [], errors: []};
const Native = window.WebSocket;
window.WebSocket = function (url, protocols) {
  const ws = protocols === undefined ? new Native(url) : new Native(url, protocols);
  const entry = {url: String(url), open: false, messages: [], closed: null};
  window.__readme.sockets.push(entry);
  ws.addEventListener('open', () => { entry.open = true; });
  ws.addEventListener('message', (e) => {
    if (typeof e.data === 'string') entry.messages.push(e.data);
    else if (e.data instanceof ArrayBuffer) entry.messages.push(new TextDecoder().decode(e.data));
    else e.data.text().then((t) => entry.messages.push(t));  // a Blob
  });
  ws.addEventListener('close', (e) => { entry.closed = e.code; });
  return ws;
};
window.WebSocket.prototype = Native.prototype;
for (const k of ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED']) window.WebSocket[k] = Native[k];
for (const level of ['log', 'info']) {
  const native = console[level].bind(console);
  console[level] = (...a) => {
    window.__readme.logs.push(a.map((x) => typeof x === 'string' ? x : JSON.stringify(x)).join(' '));
    native(...a);
  };
}
"""


def readme_js_block(path):
    with open(path, encoding="utf-8") as f:
        blocks = re.findall(r"^```js[ \t]*\n(.*?)^```", f.read(), re.S | re.M)
    return blocks


def readme_check(driver, args):
    """Runs the README's ```js block in the page and feeds what its sockets subscribed to."""
    blocks = readme_js_block(args.readme)
    if len(blocks) != 1:
        fail("%s: expected exactly one ```js block, found %d" % (args.readme, len(blocks)))
        return
    host = args.url.split("://", 1)[1].rstrip("/")
    code = blocks[0].replace("127.0.0.1:8080", host)
    if "127.0.0.1:8080" not in blocks[0]:
        fail("the README's ```js block does not use 127.0.0.1:8080")
    # A topic the block follows must exist (a WebSocket on a missing one is refused with 404),
    # as it would for a reader who produced to it first: one entry, which the replay must show.
    r = connect(args)
    seeded = {}
    try:
        for name in set(re.findall(r"/ws/topics/([^/?\"'`]+)", code)):
            name = unquote(name)
            seeded[name] = r.xadd(name, {"symbol": "AAPL", "price": "189.5"}).decode()
    finally:
        r.close()
    log("running the README's ```js block (%d lines) against %s; topics seeded: %r"
        % (code.count("\n"), host, seeded))
    driver.execute_script(TRACK_SOCKETS)
    # The block runs as a classic script, as a reader pasting it into the console would.
    error = driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        window.addEventListener('error', (e) => window.__readme.errors.push(String(e.message)));
        try { (0, eval)(arguments[0]); done(null); } catch (e) { done(String(e)); }
        """,
        code,
    )
    if error:
        fail("the README's ```js block threw: %s" % error)
        return
    sockets = wait_until(
        "the README's block opening its WebSockets",
        lambda: (s := driver.execute_script("return window.__readme.sockets"))
        and all(x["open"] or x["closed"] is not None for x in s) and s,
    )
    r = connect(args)
    marker = "readme-check-%d" % os.getpid()
    expected = []
    try:
        for s in sockets:
            if not s["open"]:
                fail("the README's WebSocket %s closed with code %s" % (s["url"], s["closed"]))
                continue
            path = s["url"].split(host, 1)[-1].split("?", 1)[0]
            parts = path.strip("/").split("/")
            name = parts[-1] if len(parts) >= 3 else None
            name = unquote(name) if name else None
            if parts[:2] == ["ws", "channels"]:
                r.publish(name, marker)
            elif parts[:2] == ["ws", "patterns"]:
                channel = name.replace("*", "x").replace("?", "x")
                r.publish(channel, marker)
            elif parts[:2] == ["ws", "topics"]:
                r.xadd(name, {"data": marker})
            elif parts[:2] == ["ws", "stats"]:
                continue
            else:
                fail("the README's block opened a WebSocket the check cannot feed: %s" % s["url"])
                continue
            expected.append(s["url"])
        # Wait in the page, as the block's reader would, for every socket to see the marker.
        got = driver.execute_async_script(
            """
            const [urls, marker, ms] = [arguments[0], arguments[1], arguments[2]];
            const done = arguments[arguments.length - 1];
            const until = Date.now() + ms;
            const seen = () => urls.every((u) => window.__readme.sockets.some(
              (s) => s.url === u && s.messages.some((m) => m.includes(marker))));
            (function poll() {
              if (seen() || Date.now() > until) done(window.__readme);
              else setTimeout(poll, 50);
            })();
            """,
            expected,
            marker,
            int(DEADLINE * 1000),
        )
    finally:
        r.close()
    for url in expected:
        s = next(x for x in got["sockets"] if x["url"] == url)
        if not any(marker in m for m in s["messages"]):
            fail("the README's WebSocket %s did not receive %r (got %r)"
                 % (url, marker, s["messages"][-3:]))
        for name, entry_id in seeded.items():
            if "/ws/topics/" in url and unquote(url.split("/ws/topics/", 1)[1].split("?")[0]) \
                    == name and "from=-" in url \
                    and not any(entry_id in m for m in s["messages"]):
                fail("the README's WebSocket %s did not replay entry %s" % (url, entry_id))
    if got["errors"]:
        fail("the README's block raised in the page: %r" % got["errors"])
    printed = [line for line in got["logs"] if marker in line]
    log("README block: %d socket(s) fed; what it printed with the marker: %r"
        % (len(expected), printed[:3]))
    if expected and not printed:
        fail("the README's block printed nothing with the message it received (console.log)")


# ---- demo traffic for the screenshot in docs/ -----------------------------------------------

def demo_traffic(args):
    """Several channels with subscribers, two topics, a group behind and with pending entries,
    a subscriber that stops reading, and a publishing rate that varies, for args.demo seconds."""
    r = connect(args)
    stop = threading.Event()
    subscribers = []
    for channel, count in [("news", 3), ("ticks.eurusd", 2), ("ticks.usdjpy", 2), ("alerts", 1)]:
        for _ in range(count):
            p = r.pubsub()
            p.subscribe(**{channel: lambda m: None})
            subscribers.append((p, p.run_in_thread(sleep_time=0.005, daemon=True)))
    p = r.pubsub()
    p.psubscribe(**{"ticks.*": lambda m: None})
    subscribers.append((p, p.run_in_thread(sleep_time=0.005, daemon=True)))
    # A subscriber that never reads: its backlog is the "slowest subscriber".
    slow = socket.create_connection(("127.0.0.1", args.resp_port))
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    if args.password:
        slow.sendall(b"AUTH %s\r\n" % args.password.encode())
    slow.sendall(b"SUBSCRIBE news bulk\r\n")
    # Connections that end, so the disconnections table has some.
    for i in range(5):
        c = socket.create_connection(("127.0.0.1", args.resp_port))
        if args.password:
            c.sendall(b"AUTH %s\r\n" % args.password.encode())
        c.sendall(b"QUIT\r\n" if i < 2 else b"PING\r\n")
        c.recv(100)
        c.close()
    for t in ["orders", "payments"]:
        r.delete(t)
    r.xadd("orders", {"sku": "A-1", "qty": "1"})
    r.xgroup_create("orders", "billing", id="0")
    r.xgroup_create("orders", "shipping", id="0")
    r.xadd("payments", {"amount": "12.50"})
    r.xgroup_create("payments", "ledger", id="0")

    def publisher():
        import math
        start = time.monotonic()
        n = 0
        while not stop.is_set():
            k = time.monotonic() - start
            burst = int(40 + 35 * math.sin(k / 6.0))
            pipe = r.pipeline(transaction=False)
            for _ in range(burst):
                pipe.publish("news", "headline %d" % n)
                pipe.publish("ticks.eurusd" if n % 2 else "ticks.usdjpy", "%.5f" % (1 + n / 1e6))
                n += 1
            if n % 7 == 0:
                pipe.publish("alerts", "threshold crossed")
            for _ in range(4):  # what the subscriber that stopped reading falls behind on
                pipe.publish("bulk", "x" * 2048)
            for _ in range(max(1, burst // 10)):
                pipe.xadd("orders", {"sku": "A-%d" % n, "qty": str(n % 5 + 1)})
            pipe.xadd("payments", {"amount": "%d.00" % (n % 90 + 10)})
            pipe.execute()
            r.xreadgroup("billing", "b1", {"orders": ">"}, count=burst // 12 + 1)
            r.xreadgroup("shipping", "s1", {"orders": ">"}, count=burst // 14 + 1)
            r.xreadgroup("ledger", "l1", {"payments": ">"}, count=1)
            stop.wait(0.1)

    thread = threading.Thread(target=publisher, daemon=True)
    thread.start()
    log("demo traffic for %d s" % args.demo)
    stop.wait(args.demo)

    def finish():
        stop.set()
        thread.join()
        for _, t in subscribers:
            t.stop()  # each worker closes its pubsub connection as it ends
        for _, t in subscribers:
            t.join(10)
        slow.close()
        r.close()

    return finish


# ---- the feed going away and coming back --------------------------------------------------

class Broker:
    """The broker binary on fixed ports, so that a restart comes back where the page looks."""

    def __init__(self, args):
        self.args = args
        self.process = None

    def start(self):
        command = [self.args.broker, "--port", str(self.args.resp_port),
                   "--http-port", str(http_port(self.args)), "--data-dir", self.args.data_dir]
        env = dict(os.environ, NANOSTREAM_LOG_LEVEL="warn")
        env.pop("NANOSTREAM_PASSWORD", None)
        self.process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL)

        def accepting():
            if self.process.poll() is not None:
                raise CheckFailed("the broker exited at start: %s" % self.process.returncode)
            try:
                socket.create_connection(("127.0.0.1", http_port(self.args)), timeout=1).close()
                return True
            except OSError:
                return False

        wait_until("the broker's HTTP port accepting", accepting)

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def http_port(args):
    return int(args.url.rstrip("/").rsplit(":", 1)[1])


def reconnect_check(driver, console, broker):
    """Stops the broker under the live page and starts it again on the same ports."""
    before = len(console.collect())
    broker.stop()
    log("broker stopped")
    wait_until("#status reading disconnected", lambda: text(driver, "#status") == "disconnected")
    # The page tries again and fails while the broker is down (then waits longer each time).
    wait_until("the page retrying while the broker is down",
               lambda: any("ERR_CONNECTION_REFUSED" in e.get("message", "")
                           for e in console.collect()[before:]))
    if text(driver, "#status") != "disconnected":
        fail("#status reads %r while the broker is down" % text(driver, "#status"))
    broker.start()
    log("broker started again")
    wait_until("#status live again (the page reconnecting by itself)",
               lambda: text(driver, "#status") == "live", deadline=40)
    # While the broker was down, the page's attempts failed: those errors are expected.
    down = console.collect()[before:]
    unexpected = [e for e in down if not (
        e.get("level") == "SEVERE" and (
            "ERR_CONNECTION_REFUSED" in e.get("message", "")
            or "WebSocket connection to" in e.get("message", "")))]
    for e in down:
        e["expected"] = e not in unexpected
    log("%d console entries while the broker was down, all connection failures: %s"
        % (len(down), not unexpected))


def full_page(driver):
    """Makes the viewport as tall as the page, so the screenshot shows all of it (a headless
    window is no taller than its virtual screen, whatever set_window_size asks)."""
    for _ in range(2):  # the second pass measures the page laid out without a scroll bar
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": 1360, "height": max(700, int(height)), "deviceScaleFactor": 1,
            "mobile": False})


# ---- main -----------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the broker's HTTP URL, http://127.0.0.1:P")
    parser.add_argument("--resp-port", type=int, required=True, help="the broker's RESP port")
    parser.add_argument("--screenshot", required=True, help="where to save the PNG")
    parser.add_argument("--password", help="the broker's --requirepass")
    parser.add_argument("--readme", help="README.md whose one ```js block to run in the page")
    parser.add_argument("--demo", type=int, default=0, metavar="SECONDS",
                        help="make varied traffic this long before the screenshot")
    parser.add_argument("--broker", metavar="BINARY",
                        help="start this broker binary (on --resp-port and the --url's port), "
                        "then stop and restart it under the live page")
    parser.add_argument("--data-dir", help="the --data-dir of the broker started with --broker")
    args = parser.parse_args()
    url = args.url.rstrip("/") + "/"

    for path in [CHROMIUM, CHROMEDRIVER]:
        if not os.path.exists(path):
            log("%s is missing: `apt-get install chromium chromium-driver` (.ci/run does)" % path)
            return 2

    broker = None
    if args.broker:
        if not args.data_dir:
            parser.error("--broker needs --data-dir")
        broker = Broker(args)
        broker.start()

    driver, profile = start_browser(1360, 1000)
    console = Console(driver)
    try:
        driver.get(url)
        if args.password:
            log_in(driver, args.password)
        wait_until("#status reading live", lambda: text(driver, "#status") == "live")
        log("the page is live")
        if broker:
            reconnect_check(driver, console, broker)
        if args.demo:
            finish = demo_traffic(args)
        else:
            traffic_check(driver, args)
            finish = None
        if args.readme:
            readme_check(driver, args)
        full_page(driver)
        wait_until("#status live before the screenshot", lambda: text(driver, "#status") == "live")
        # A frame drawn at the new size: two animation frames after the resize.
        driver.execute_async_script(
            "const done = arguments[0];"
            "requestAnimationFrame(() => requestAnimationFrame(() => done(null)));"
        )
        os.makedirs(os.path.dirname(os.path.abspath(args.screenshot)), exist_ok=True)
        if not driver.save_screenshot(args.screenshot):
            fail("could not save the screenshot to %s" % args.screenshot)
        else:
            log("screenshot: %s" % args.screenshot)
        if finish:
            finish()
        check_console(console, args)
    except CheckFailed as e:
        fail(str(e))
        try:
            driver.save_screenshot(args.screenshot)
            log("screenshot of the failure: %s" % args.screenshot)
            for entry in console.collect():
                log("console: %s" % json.dumps(entry))
        except WebDriverException:
            pass
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
        if broker:
            broker.stop()
    if failures:
        log("%d check(s) failed" % len(failures))
        return 1
    log("all checks passed")
    return 0


def allowed(entry, args):
    """A console error that is not the page's fault: a connection failure while the check had
    stopped the broker, or the 401 a password-protected broker answers to the page's first
    GET /stats (and to the wrong password the check types): Chromium logs every 4xx as a
    network error, and asking is how the page learns a password is needed."""
    if entry.get("expected"):
        return True
    message = entry.get("message", "")
    return (args.password is not None and entry.get("source") == "network"
            and "/stats " in message and "401" in message)


def check_console(console, args):
    entries = console.collect()
    bad = [e for e in entries if e.get("level") in ("SEVERE", "WARNING") and not allowed(e, args)]
    for e in entries:
        log("console (%s): %s" % (e.get("level"), e.get("message")))
    if bad:
        fail("the browser console has %d error/warning entries: %s"
             % (len(bad), "; ".join(e.get("message", "") for e in bad)))


if __name__ == "__main__":
    sys.exit(main())
