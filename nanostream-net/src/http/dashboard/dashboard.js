// NanoStream broker dashboard: reads the stats feed (GET /stats, then the /ws/stats WebSocket)
// and shows it as cards, tables and a canvas chart of the last five minutes. No library.
"use strict";

(() => {
  const PASSWORD_KEY = "nanostream.password";
  const WINDOW_MS = 5 * 60 * 1000; // what the chart shows
  const MAX_SAMPLES = 360; // a little over 5 minutes at one sample a second
  const BACKOFF_MIN_MS = 500;
  const BACKOFF_MAX_MS = 15000;

  const $ = (id) => document.getElementById(id);

  let samples = []; // oldest first, by time_ms
  let socket = null;
  let backoff = BACKOFF_MIN_MS;
  let retryTimer = null;
  let generation = 0; // bumped on every (re)start, so a stale socket's events are ignored

  // ---- password -------------------------------------------------------------------------

  function password() {
    return sessionStorage.getItem(PASSWORD_KEY);
  }

  function authHeaders() {
    const pw = password();
    return pw === null ? {} : { Authorization: "Bearer " + pw };
  }

  function showPasswordForm(message) {
    closeSocket();
    setStatus("password required", "wait");
    $("dashboard").hidden = true;
    $("password-form").hidden = false;
    $("password-message").textContent = message || "";
    const input = $("password");
    input.value = "";
    input.focus();
  }

  $("password-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(PASSWORD_KEY, $("password").value);
    $("password-message").textContent = "";
    start();
  });

  // ---- connection -----------------------------------------------------------------------

  function setStatus(text, kind) {
    const el = $("status");
    el.textContent = text;
    el.className = "badge badge-" + kind;
  }

  function closeSocket() {
    generation += 1;
    clearTimeout(retryTimer);
    retryTimer = null;
    if (socket !== null) {
      socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
      socket.close();
      socket = null;
    }
  }

  function scheduleRetry() {
    setStatus("disconnected", "down");
    clearTimeout(retryTimer);
    const delay = backoff;
    backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
    retryTimer = setTimeout(start, delay + Math.random() * 250);
  }

  // Asks GET /stats first: it tells whether a password is needed (or wrong) without a failed
  // WebSocket handshake, and it draws the page at once. Then follows the feed.
  async function start() {
    closeSocket();
    const mine = generation;
    let response;
    try {
      response = await fetch("/stats", { headers: authHeaders(), cache: "no-store" });
    } catch (_) {
      if (mine === generation) scheduleRetry();
      return;
    }
    if (mine !== generation) return;
    if (response.status === 401) {
      const hadPassword = password() !== null;
      sessionStorage.removeItem(PASSWORD_KEY);
      showPasswordForm(hadPassword ? "Wrong password: try again." : "");
      return;
    }
    if (!response.ok) {
      scheduleRetry();
      return;
    }
    let sample;
    try {
      sample = await response.json();
    } catch (_) {
      if (mine === generation) scheduleRetry();
      return;
    }
    if (mine !== generation) return;
    $("password-form").hidden = true;
    $("dashboard").hidden = false;
    addSamples([sample]);
    render();
    openSocket(mine);
  }

  function openSocket(mine) {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const pw = password();
    const query = pw === null ? "" : "?token=" + encodeURIComponent(pw);
    const ws = new WebSocket(scheme + "//" + location.host + "/ws/stats" + query);
    socket = ws;
    ws.onmessage = (event) => {
      if (mine !== generation) return;
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch (_) {
        return;
      }
      if (Array.isArray(frame.history)) {
        samples = [];
        addSamples(frame.history.slice().sort((a, b) => num(a && a.time_ms) - num(b && b.time_ms)));
      } else {
        addSamples([frame]);
      }
      backoff = BACKOFF_MIN_MS;
      setStatus("live", "live");
      render();
    };
    ws.onclose = () => {
      if (mine !== generation) return;
      socket = null;
      scheduleRetry();
    };
    ws.onerror = () => {}; // onclose follows and retries
  }

  function addSamples(list) {
    for (const s of list) {
      if (s === null || typeof s !== "object" || typeof s.time_ms !== "number") continue;
      const last = samples.length ? samples[samples.length - 1].time_ms : -Infinity;
      if (s.time_ms > last) {
        samples.push(s);
      } else if (s.time_ms === last) {
        samples[samples.length - 1] = s;
      }
    }
    if (samples.length > MAX_SAMPLES) samples.splice(0, samples.length - MAX_SAMPLES);
  }

  // ---- formatting -----------------------------------------------------------------------

  function num(v) {
    return typeof v === "number" && isFinite(v) ? v : 0;
  }

  function fmtInt(v) {
    return String(Math.round(num(v)));
  }

  function fmtRate(v) {
    const n = num(v);
    if (n >= 100) return String(Math.round(n));
    return n.toFixed(1);
  }

  // Binary units, as the broker's limits are written ("32mb" is 32 MiB).
  function fmtBytes(v) {
    let n = num(v);
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) {
      n /= 1024;
      i += 1;
    }
    return (i === 0 ? Math.round(n) : +n.toFixed(1)) + " " + units[i];
  }

  function fmtBytesRate(v) {
    return fmtBytes(v) + "/s";
  }

  function fmtUptime(s) {
    s = Math.floor(num(s));
    const d = Math.floor(s / 86400);
    const h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60);
    if (d > 0) return "up " + d + "d " + h + "h";
    if (h > 0) return "up " + h + "h " + m + "m";
    if (m > 0) return "up " + m + "m " + (s % 60) + "s";
    return "up " + s + "s";
  }

  // A name or ID as the API gives it: a string, or {"base64": ...} when it is not UTF-8.
  function label(v) {
    if (typeof v === "string") return v;
    if (v && typeof v === "object" && typeof v.base64 === "string") return "base64:" + v.base64;
    if (v === null || v === undefined) return "–";
    return String(v);
  }

  function setNumber(id, value, text) {
    const el = $(id);
    el.dataset.value = String(num(value));
    el.textContent = text;
  }

  // ---- rendering ------------------------------------------------------------------------

  function render() {
    const s = samples[samples.length - 1];
    if (!s) return;
    const rates = s.rates || {};
    $("uptime").textContent = fmtUptime(s.uptime_s);
    setNumber("clients", s.clients, fmtInt(s.clients));
    setNumber("connections-total", s.connections_total, fmtInt(s.connections_total));
    setNumber("commands-rate", rates.commands, fmtRate(rates.commands));
    setNumber("commands-total", s.commands, fmtInt(s.commands));
    setNumber("messages-in-rate", rates.messages_in, fmtRate(rates.messages_in));
    setNumber("messages-in-total", s.messages_in, fmtInt(s.messages_in));
    setNumber("messages-out-rate", rates.messages_out, fmtRate(rates.messages_out));
    setNumber("messages-out-total", s.messages_out, fmtInt(s.messages_out));
    $("bytes-in-rate").textContent = fmtBytesRate(rates.bytes_in);
    $("bytes-out-rate").textContent = fmtBytesRate(rates.bytes_out);
    // The bytes queued for the subscriber furthest behind, against the limit that cuts it off.
    setNumber("slowest-backlog", s.slowest_backlog, fmtBytes(s.slowest_backlog));
    const hard = s.output_limit ? num(s.output_limit.hard) : 0;
    $("backlog-limit").textContent =
      hard > 0 ? ", cut off at " + fmtBytes(hard) : "";
    setNumber("patterns", s.patterns, fmtInt(s.patterns));
    $("patterns-label").textContent =
      num(s.patterns) === 1 ? "pattern subscription" : "pattern subscriptions";
    renderRing(s.ring || {});
    renderDisconnections(s.disconnections || {});
    renderChannels(Array.isArray(s.channels) ? s.channels : []);
    renderTopics(Array.isArray(s.topics) ? s.topics : []);
    drawChart();
  }

  function renderRing(ring) {
    const used = num(ring.used);
    const capacity = num(ring.capacity);
    const fraction = capacity > 0 ? Math.min(used / capacity, 1) : 0;
    const bar = $("ring-fill");
    bar.setAttribute("aria-valuenow", String(used));
    bar.setAttribute("aria-valuemax", String(capacity));
    bar.dataset.used = String(used);
    bar.dataset.capacity = String(capacity);
    bar.classList.toggle("high", fraction >= 0.75 && fraction < 0.95);
    bar.classList.toggle("full", fraction >= 0.95);
    $("ring-fill-bar").style.width = (fraction * 100).toFixed(1) + "%";
    $("ring-fill-text").textContent =
      used + " / " + capacity + " (" + Math.round(fraction * 100) + "%)";
  }

  // Updates a table body in place: one row per key, in the order given, so rows a test or a
  // reader is looking at are not replaced every second.
  function syncRows(tbody, keyAttr, items, keyOf, cellsOf, rowClassOf) {
    const existing = new Map();
    for (const row of Array.from(tbody.rows)) existing.set(row.getAttribute(keyAttr), row);
    let previous = null;
    for (const item of items) {
      const key = keyOf(item);
      const cells = cellsOf(item);
      let row = existing.get(key);
      existing.delete(key);
      if (row === undefined || row.cells.length !== cells.length) {
        if (row !== undefined) row.remove();
        row = document.createElement("tr");
        row.setAttribute(keyAttr, key);
        for (const c of cells) {
          const td = document.createElement("td");
          if (c.cls) td.className = c.cls;
          if (c.field) td.dataset.field = c.field;
          row.appendChild(td);
        }
      }
      cells.forEach((c, i) => {
        const td = row.cells[i];
        if (c.node) td.replaceChildren(c.node);
        else if (td.textContent !== c.text) td.textContent = c.text;
        if (c.title !== undefined) td.title = c.title;
      });
      row.className = rowClassOf ? rowClassOf(item) : "";
      const want = previous ? previous.nextSibling : tbody.firstChild;
      if (want !== row) tbody.insertBefore(row, want);
      previous = row;
    }
    for (const row of existing.values()) row.remove();
  }

  function renderDisconnections(byReason) {
    const items = Object.keys(byReason)
      .sort()
      .map((reason) => ({ reason, count: num(byReason[reason]) }));
    syncRows(
      $("disconnections"),
      "data-reason",
      items,
      (d) => d.reason,
      (d) => [
        { text: d.reason.replace(/_/g, " "), field: "reason" },
        { text: fmtInt(d.count), cls: "num", field: "count" },
      ],
      (d) => (d.count === 0 ? "zero" : ""),
    );
  }

  function renderChannels(channels) {
    syncRows($("channels"), "data-channel", channels, (c) => label(c.name), (c) => [
      { text: label(c.name), cls: "name", title: label(c.name), field: "name" },
      { text: fmtInt(c.subscribers), cls: "num", field: "subscribers" },
      { text: fmtRate(c.publish_rate), cls: "num", field: "publish-rate" },
      { text: fmtRate(c.delivery_rate), cls: "num", field: "delivery-rate" },
      { text: fmtInt(c.published), cls: "num", field: "published" },
      { text: fmtInt(c.delivered), cls: "num", field: "delivered" },
    ]);
    $("channels-empty").hidden = channels.length > 0;
  }

  function groupsNode(groups) {
    const box = document.createElement("div");
    box.className = "groups";
    if (groups.length === 0) {
      box.textContent = "–";
      box.classList.add("muted");
      return box;
    }
    for (const g of groups) {
      const chip = document.createElement("span");
      chip.className = "group";
      chip.dataset.group = label(g.name);
      const lag = g.lag === null || g.lag === undefined ? null : num(g.lag);
      if (lag !== null && lag > 0) chip.classList.add("behind");
      const name = document.createElement("b");
      name.textContent = label(g.name);
      const lagEl = document.createElement("span");
      lagEl.className = "lag";
      lagEl.textContent = lag === null ? "?" : String(lag);
      const pendingEl = document.createElement("span");
      pendingEl.className = "pending";
      pendingEl.textContent = fmtInt(g.pending);
      const consumersEl = document.createElement("span");
      consumersEl.className = "consumers";
      consumersEl.textContent = fmtInt(g.consumers);
      const consumers = num(g.consumers) === 1 ? " consumer" : " consumers";
      chip.append(name, " lag ", lagEl, " · pending ", pendingEl, " · ", consumersEl, consumers);
      chip.title = "last delivered " + label(g.last_delivered_id);
      box.appendChild(chip);
    }
    return box;
  }

  function renderTopics(topics) {
    syncRows($("topics"), "data-topic", topics, (t) => label(t.name), (t) => [
      { text: label(t.name), cls: "name", title: label(t.name), field: "name" },
      { text: fmtInt(t.length), cls: "num", field: "length" },
      { text: label(t.first_id), cls: "id", field: "first-id" },
      { text: label(t.last_id), cls: "id", field: "last-id" },
      { text: label(t.durable_id), cls: "id", field: "durable-id" },
      { node: groupsNode(Array.isArray(t.groups) ? t.groups : []), field: "groups" },
    ]);
    $("topics-empty").hidden = topics.length > 0;
  }

  // ---- chart ----------------------------------------------------------------------------

  const canvas = $("rate-chart");

  // The step of the y axis: 1, 2 or 5 times a power of ten, about a quarter of the peak.
  function niceStep(peak) {
    if (!(peak > 0)) return 1;
    const raw = peak / 4;
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const m of [1, 2, 5]) if (raw <= m * p) return m * p;
    return 10 * p;
  }

  function shortNum(v) {
    if (v >= 1e6) return +(v / 1e6).toFixed(1) + "M";
    if (v >= 1e3) return +(v / 1e3).toFixed(1) + "k";
    return String(+v.toFixed(1));
  }

  function drawChart() {
    const box = canvas.parentElement;
    const width = box.clientWidth;
    const height = box.clientHeight;
    if (width === 0 || height === 0) return;
    const dpr = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
      canvas.width = Math.round(width * dpr);
      canvas.height = Math.round(height * dpr);
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);

    const style = getComputedStyle(document.documentElement);
    const colorIn = style.getPropertyValue("--in").trim() || "#4aa8ff";
    const colorOut = style.getPropertyValue("--out").trim() || "#3fd18b";
    const colorLine = style.getPropertyValue("--line").trim() || "#26313d";
    const colorMuted = style.getPropertyValue("--muted").trim() || "#8593a1";

    const left = 48;
    const right = 10;
    const top = 10;
    const bottom = 24;
    const plotW = width - left - right;
    const plotH = height - top - bottom;
    if (plotW <= 0 || plotH <= 0) return;

    const end = samples.length ? samples[samples.length - 1].time_ms : Date.now();
    const startT = end - WINDOW_MS;
    const shown = samples.filter((s) => s.time_ms >= startT);
    let peak = 0;
    for (const s of shown) {
      const r = s.rates || {};
      peak = Math.max(peak, num(r.messages_in), num(r.messages_out));
    }
    const step = niceStep(peak);
    const ticks = Math.max(1, Math.ceil(peak / step));
    const yMax = step * ticks;
    const x = (t) => left + ((t - startT) / WINDOW_MS) * plotW;
    const y = (v) => top + plotH - (Math.min(v, yMax) / yMax) * plotH;

    ctx.font = "11px system-ui, sans-serif";
    ctx.lineWidth = 1;
    ctx.strokeStyle = colorLine;
    ctx.fillStyle = colorMuted;
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (let i = 0; i <= ticks; i += 1) {
      const v = step * i;
      const yy = Math.round(y(v)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(left, yy);
      ctx.lineTo(left + plotW, yy);
      ctx.stroke();
      ctx.fillText(shortNum(v), left - 6, yy);
    }
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    for (let m = 5; m >= 0; m -= 1) {
      const xx = x(end - m * 60000);
      const xText = Math.min(Math.max(xx, left + 10), left + plotW - 12);
      ctx.fillText(m === 0 ? "now" : "-" + m + "m", xText, top + plotH + 6);
    }

    const line = (key, color) => {
      ctx.strokeStyle = color;
      ctx.lineWidth = 1.8;
      ctx.lineJoin = "round";
      ctx.beginPath();
      let prevT = null;
      for (const s of shown) {
        const px = x(s.time_ms);
        const py = y(num((s.rates || {})[key]));
        // A gap of more than 3 s (the feed was down) breaks the line.
        if (prevT === null || s.time_ms - prevT > 3000) ctx.moveTo(px, py);
        else ctx.lineTo(px, py);
        prevT = s.time_ms;
      }
      ctx.stroke();
    };
    line("messages_in", colorIn);
    line("messages_out", colorOut);
  }

  if (typeof ResizeObserver === "function") {
    new ResizeObserver(() => drawChart()).observe(canvas.parentElement);
  } else {
    window.addEventListener("resize", drawChart);
  }

  start();
})();
