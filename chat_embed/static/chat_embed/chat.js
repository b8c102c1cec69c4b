/* lpcfe chat: one Matrix room. Reads come from the front end's live stream (one EventSource
 * on nginx + nchan, fed once per message by the homeserver) where the site has one, otherwise
 * (or when it fails) from a sync straight with the homeserver; writes always go to the homeserver.
 *
 * Plain JavaScript, no build step, no dependencies. Built to stay light with hundreds of people
 * in a room: one filtered sync (this room, lazy-loaded members, no presence/typing/receipts), no
 * per-member requests (names come from member state in the sync, colours from the user ID), a
 * capped DOM, history only on demand, and reconnects with backoff and jitter. Server data only
 * ever reaches the page through textContent and createElement.
 */
(() => {
  "use strict";

  const root = document.getElementById("chat");
  if (!root || root.dataset.configured !== "1") return;

  const CAP = 300; // messages kept in the DOM
  const TIMELINE_LIMIT = 30; // events per sync
  const FIRST_SYNC_LIMIT = 1; // events in the first sync: the messages come from "load earlier"
  const PAGE_LIMIT = 50; // events per "load earlier" page
  const GAP_LIMIT = 100; // events fetched to close a gap after a limited sync
  const CACHE_EVENTS = 50; // latest events kept in sessionStorage for a reload of this tab
  const SYNC_TIMEOUT = 30000; // long-poll
  // Pause after a sync that brought events, so that a busy room's messages arrive in batches. Every
  // message wakes every member's long-poll, so the homeserver's work per message grows with the
  // room: the pause does too (400 ms up to 100 people, 5 s from 500), with jitter against lockstep.
  const SYNC_PACE = 400;
  const SYNC_PACE_PER_MEMBER = 10;
  const SYNC_PACE_MAX = 5000;
  const REQUEST_TIMEOUT = 20000;
  const MAX_BACKOFF = 30000;
  const ANNOUNCE_EVERY = 4000; // screen-reader announcements at most this often
  const BOUNDED = 2000; // size of the event-id maps that outlive the DOM
  const SHOWN_TYPES = ["m.room.message", "m.room.redaction"];
  const PALETTE_SIZE = 8;

  const $ = (id) => document.getElementById(id);
  const ui = {
    status: $("chat-status"),
    count: $("chat-count"),
    scroll: $("chat-scroll"),
    start: $("chat-start"),
    earlier: $("chat-earlier"),
    list: $("chat-messages"),
    pending: $("chat-pending"),
    jump: $("chat-jump"),
    announce: $("chat-announce"),
    form: $("chat-form"),
    context: $("chat-context"),
    contextText: $("chat-context-text"),
    contextCancel: $("chat-context-cancel"),
    input: $("chat-input"),
    send: $("chat-send"),
  };

  // User-facing strings come translated from the page (see the template's #chat-i18n).
  const STR = {};
  const i18n = $("chat-i18n");
  if (i18n) for (const el of i18n.content.querySelectorAll("[data-k]")) STR[el.dataset.k] = el.textContent;
  const t = (key, vars) => {
    let s = STR[key] || key;
    if (vars) for (const k of Object.keys(vars)) s = s.split("{" + k + "}").join(String(vars[k]));
    return s;
  };

  const slug = root.dataset.room || "";
  const tokenUrl = root.dataset.tokenUrl || "";
  const readOnlyPage = root.dataset.readOnly === "1";
  const storeKey = "lpcfe.chat." + slug;
  let ticket = root.dataset.ticket || "";

  // ---- state ---------------------------------------------------------------------------
  let auth = null; // the token hand-off answer
  let me = "";
  let rid = "";
  let readOnly = readOnlyPage;
  let since = null; // sync position, kept in sessionStorage across reloads of this tab
  let backToken = null; // /messages position before the oldest message shown
  let atStart = false; // the oldest message shown is the room's first
  let live = true; // the DOM ends at the newest message (false after paging far back)
  let stopped = false;
  let loadingEarlier = false;
  let joinedCount = null;
  let current = null; // the message that holds the list's single tab stop
  let context = null; // {kind: "reply"|"edit", id}

  const members = new Map(); // user ID -> display name (from lazily-loaded member state)
  const nameOwners = new Map(); // look-alike key of a name -> Set of user IDs, to tell them apart
  const stale = new Set(); // user IDs whose shown messages need their name drawn again
  let power = { users: {}, dflt: 0 }; // the room's power levels: badges come from here, never from names
  const shown = new Map(); // event ID -> {ev, el} for messages in the DOM
  const quotes = new Map(); // event ID -> {sender, text}: reply previews, outliving the DOM
  const edits = new Map(); // original event ID + sender -> latest edit event
  const redacted = new Set();
  const handled = new Set(); // event IDs already processed from sync (dedupe)
  let tail = []; // the latest events in timeline order, [{ev, tok}], whatever the DOM shows
  let pending = []; // messages being sent: {txn, content, el, state, eventId, done}

  const bound = (coll, max = BOUNDED) => {
    while (coll.size > max) coll.delete(coll.keys().next().value);
  };

  // ---- small helpers -------------------------------------------------------------------
  const BIDI = /[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/g;
  const clean = (s, max) => {
    s = String(s).replace(BIDI, "").trim();
    return s.length > max ? s.slice(0, max - 1) + "\u2026" : s;
  };
  const localpart = (uid) => String(uid).replace(/^@/, "").split(":")[0];

  function fnv(uid) {
    // FNV-1a over the user ID: stable per person, with no request at all.
    let h = 0x811c9dc5;
    for (let i = 0; i < uid.length; i++) {
      h ^= uid.charCodeAt(i);
      h = Math.imul(h, 16777619);
    }
    return h >>> 0;
  }
  const hue = (uid) => fnv(uid) % PALETTE_SIZE;
  // Names that look alike (case, width, spacing) count as one name.
  const lookKey = (name) => name.normalize("NFKC").toLowerCase().replace(/\s+/g, " ");

  function nameOf(uid) {
    const name = members.get(uid);
    if (!name) return localpart(uid);
    const owners = nameOwners.get(lookKey(name));
    // Two people, one name: a short tag from each one's ID tells them apart (the full ID is on hover/focus).
    return owners && owners.size > 1 ? name + " #" + fnv(uid).toString(36).slice(-4) : name;
  }

  function setMember(uid, displayname) {
    const old = members.get(uid);
    const name = typeof displayname === "string" ? clean(displayname, 80) : "";
    if (old === name) return;
    stale.add(uid);
    if (old) {
      const owners = nameOwners.get(lookKey(old));
      owners?.delete(uid);
      for (const o of owners || []) stale.add(o);
    }
    members.set(uid, name);
    if (name) {
      const key = lookKey(name);
      if (!nameOwners.has(key)) nameOwners.set(key, new Set());
      nameOwners.get(key).add(uid);
      for (const o of nameOwners.get(key)) stale.add(o);
    }
  }

  function setPower(content) {
    const users = {};
    for (const [uid, level] of Object.entries((content && content.users) || {})) {
      if (typeof level === "number" && level >= 50) users[uid] = level;
    }
    const dflt = typeof content?.users_default === "number" ? content.users_default : 0;
    for (const uid of new Set([...Object.keys(users), ...Object.keys(power.users)])) stale.add(uid);
    if (dflt !== power.dflt) for (const s of shown.values()) stale.add(s.ev.sender);
    power = { users, dflt };
  }

  function badgeOf(uid) {
    const level = uid in power.users ? power.users[uid] : power.dflt;
    return level >= 100 ? t("badge_admin") : level >= 50 ? t("badge_moderator") : "";
  }

  function learn(events) {
    for (const ev of events || []) {
      if (typeof ev.state_key !== "string") continue;
      const c = ev.content || {};
      if (ev.type === "m.room.power_levels" && ev.state_key === "") setPower(c);
      if (ev.type !== "m.room.member") continue;
      if (c.membership === "join" || c.membership === "invite") setMember(ev.state_key, c.displayname);
    }
    // Messages already on screen from people whose name (or its look-alikes) or badge changed.
    if (!stale.size) return;
    for (const [id, s] of shown) if (stale.has(s.ev.sender)) repaint(id);
    stale.clear();
  }

  const sleepers = new Set();
  // A wakeable sleep: a success elsewhere (or the browser coming online) cuts waits short.
  function sleep(ms, wakeable = true) {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      if (wakeable) sleepers.add(done);
    });
  }
  const wake = () => [...sleepers].forEach((f) => f());
  window.addEventListener("online", wake);

  function backoff(attempt, retryAfterMs) {
    // Exponential with "equal jitter": half fixed, half random, so a room full of clients
    // that lost the server together does not come back in one burst.
    const base = Math.min(MAX_BACKOFF, 1000 * 2 ** Math.min(attempt - 1, 15));
    const wait = base / 2 + Math.random() * (base / 2);
    return retryAfterMs ? Math.max(retryAfterMs + Math.random() * 500, wait) : wait;
  }

  class ApiError extends Error {
    constructor(status, errcode, message, retryAfterMs) {
      super(message || errcode || "HTTP " + status);
      this.status = status;
      this.errcode = errcode || "";
      this.retryAfterMs = retryAfterMs || 0;
    }
    get transient() {
      return this.status === 0 || this.status === 429 || this.status === 408 || this.status >= 500;
    }
  }

  async function getJson(url, init, timeout) {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), timeout);
    let res;
    try {
      res = await fetch(url, { ...init, signal: ctl.signal, cache: "no-store" });
    } catch (e) {
      throw new ApiError(0, "M_NETWORK", t("network_error"));
    } finally {
      clearTimeout(timer);
    }
    let data = {};
    try {
      data = await res.json();
    } catch (e) {
      data = {};
    }
    if (!res.ok) {
      let retry = Number(data.retry_after_ms) || 0;
      if (!retry && res.headers.get("Retry-After")) retry = Number(res.headers.get("Retry-After")) * 1000 || 0;
      const message = data.error || data.detail || data.message || "HTTP " + res.status;
      throw new ApiError(res.status, data.errcode, message, retry);
    }
    return data;
  }

  function api(method, path, { query, body, timeout = REQUEST_TIMEOUT } = {}) {
    let url = auth.homeserver.replace(/\/+$/, "") + "/_matrix/client/v3" + path;
    if (query) url += "?" + new URLSearchParams(query);
    const headers = { Authorization: "Bearer " + auth.access_token };
    if (body) headers["Content-Type"] = "application/json";
    const init = { method, headers, credentials: "omit", referrerPolicy: "no-referrer" };
    if (body) init.body = JSON.stringify(body);
    return getJson(url, init, timeout);
  }
  const roomPath = (suffix) => "/rooms/" + encodeURIComponent(rid) + suffix;

  // ---- status and counts -----------------------------------------------------------------
  function setState(state, text) {
    if (root.dataset.state === state && ui.status.textContent === (text || "")) return;
    root.dataset.state = state;
    ui.status.textContent = text || "";
  }

  function fatal(message) {
    stopped = true;
    if (liveSource) liveSource.close();
    setState("error", message);
    ui.input.disabled = true;
    ui.send.disabled = true;
  }

  function syncPace() {
    const pace = Math.min(SYNC_PACE_MAX, Math.max(SYNC_PACE, (joinedCount || 0) * SYNC_PACE_PER_MEMBER));
    return pace * (0.8 + Math.random() * 0.4);
  }

  function setCount(n) {
    joinedCount = n;
    ui.count.textContent = n === 1 ? t("people_one") : t("people_other", { n });
  }

  // ---- storage (sessionStorage: this tab only) ---------------------------------------------
  function loadStore() {
    try {
      return JSON.parse(sessionStorage.getItem(storeKey) || "{}") || {};
    } catch (e) {
      return {};
    }
  }

  let saveTimer = 0;
  function save() {
    if (!saveTimer) saveTimer = setTimeout(saveNow, 1000);
  }
  function saveNow() {
    clearTimeout(saveTimer);
    saveTimer = 0;
    if (!auth) return;
    const names = {};
    const editsOut = {};
    for (const { ev } of tail) {
      if (members.has(ev.sender)) names[ev.sender] = members.get(ev.sender);
      const key = editKey(ev.event_id, ev.sender);
      if (edits.has(key)) editsOut[key] = edits.get(key);
    }
    const data = {
      auth,
      since: tail.length ? since : null,
      tail,
      edits: editsOut,
      redacted: tail.filter(({ ev }) => redacted.has(ev.event_id)).map(({ ev }) => ev.event_id),
      names,
      power,
      count: joinedCount,
      pending: pending.filter((p) => !p.done).map(({ txn, content }) => ({ txn, content })),
    };
    try {
      sessionStorage.setItem(storeKey, JSON.stringify(data));
    } catch (e) {
      // Storage full or disabled: a reload then simply starts with a fresh sync.
    }
  }
  window.addEventListener("pagehide", saveNow);

  // ---- rendering ---------------------------------------------------------------------------
  // The pages' hour cycle (24-hour), whatever the browser's locale would pick.
  const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  const fullFmt = new Intl.DateTimeFormat(undefined, {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
    timeZoneName: "short",
  });
  const URL_RE = /\bhttps?:\/\/[^\s<>"]+/gi;

  function appendText(parent, text) {
    // Plain text with http(s) links made clickable; nothing is ever parsed as HTML.
    let last = 0;
    URL_RE.lastIndex = 0;
    let m;
    while ((m = URL_RE.exec(text))) {
      let raw = m[0].replace(/[.,;:!?'*]+$/, "");
      if (raw.endsWith(")") && !raw.includes("(")) raw = raw.slice(0, -1);
      let url;
      try {
        url = new URL(raw);
      } catch (e) {
        continue;
      }
      if (url.protocol !== "http:" && url.protocol !== "https:") continue;
      if (m.index > last) parent.append(text.slice(last, m.index));
      const a = document.createElement("a");
      a.href = url.href;
      a.textContent = raw;
      a.rel = "noopener noreferrer nofollow";
      a.target = "_blank";
      parent.append(a);
      last = m.index + raw.length;
      URL_RE.lastIndex = last;
    }
    if (last < text.length) parent.append(text.slice(last));
  }

  function stripReplyFallback(body) {
    // Older clients prefix replies with "> <@user> quoted text" lines and a blank line.
    if (!body.startsWith(">")) return body;
    const lines = body.split("\n");
    let i = 0;
    while (i < lines.length && lines[i].startsWith(">")) i++;
    if (i < lines.length && lines[i] === "") i++;
    return lines.slice(i).join("\n");
  }

  const editKey = (id, sender) => id + " " + sender;
  const relation = (ev) => (ev.content && ev.content["m.relates_to"]) || {};
  const isEdit = (ev) => relation(ev).rel_type === "m.replace";
  const replyTo = (ev) => {
    const r = relation(ev)["m.in_reply_to"];
    return r && typeof r.event_id === "string" ? r.event_id : "";
  };

  function latestEdit(ev) {
    let best = edits.get(editKey(ev.event_id, ev.sender)) || null;
    const bundled = ev.unsigned && ev.unsigned["m.relations"] && ev.unsigned["m.relations"]["m.replace"];
    if (bundled && bundled.content && (!best || (bundled.origin_server_ts || 0) > (best.origin_server_ts || 0))) {
      best = bundled;
    }
    // Only the original sender may edit a message.
    if (!best || best.sender !== ev.sender) return null;
    const nc = best.content && best.content["m.new_content"];
    return nc && typeof nc.body === "string" ? nc : null;
  }

  function displayed(ev) {
    // What a message says now: the latest edit, the reply fallback stripped.
    if (redacted.has(ev.event_id) || (ev.unsigned && ev.unsigned.redacted_because)) {
      return { deleted: true, msgtype: "", body: "", edited: false };
    }
    const c = ev.content || {};
    const nc = latestEdit(ev);
    const src = nc || c;
    let body = typeof src.body === "string" ? src.body : "";
    if (!nc && replyTo(ev)) body = stripReplyFallback(body);
    return { deleted: false, msgtype: String(src.msgtype || c.msgtype || "m.text"), body, edited: !!nc };
  }

  function rememberQuote(ev) {
    const d = displayed(ev);
    quotes.set(ev.event_id, { sender: ev.sender, text: d.deleted ? t("deleted") : d.body });
    bound(quotes);
  }

  function fillQuote(q, parentId) {
    const p = quotes.get(parentId);
    q.textContent = "";
    q.classList.toggle("unknown", !p);
    if (!p) {
      q.textContent = t("reply_unknown");
      return;
    }
    const who = document.createElement("span");
    who.className = "nick n" + hue(p.sender);
    who.textContent = nameOf(p.sender);
    q.append(t("reply_to") + " ", who, ": ", clean(p.text.replace(/\s+/g, " "), 120));
  }

  function build(ev, tok, pendingEcho) {
    const d = displayed(ev);
    const li = document.createElement("li");
    li.className = "msg";
    li.tabIndex = -1;
    if (ev.event_id) li.dataset.id = ev.event_id;
    if (tok) li.dataset.tok = tok;
    const own = ev.sender === me;
    if (own) li.classList.add("own");
    if (d.msgtype === "m.notice") li.classList.add("notice");
    if (d.msgtype === "m.emote") li.classList.add("emote");
    if (d.deleted) li.classList.add("deleted");

    const when = new Date(ev.origin_server_ts || Date.now());
    const time = document.createElement("time");
    time.dateTime = when.toISOString();
    time.title = fullFmt.format(when);
    time.textContent = timeFmt.format(when);

    const nick = document.createElement("span");
    nick.className = "nick n" + hue(ev.sender);
    nick.title = ev.sender;
    nick.textContent = nameOf(ev.sender);
    const mxid = document.createElement("span");
    mxid.className = "mxid"; // shown while the message has keyboard focus; the title shows it on hover
    mxid.textContent = " " + ev.sender;
    nick.append(mxid);
    const who = [nick];
    const badge = badgeOf(ev.sender);
    if (badge) {
      const b = document.createElement("span");
      b.className = "badge";
      b.textContent = badge;
      who.push(" ", b);
    }

    const parent = replyTo(ev);
    if (parent && !d.deleted) {
      const q = document.createElement("span");
      q.className = "quote";
      q.dataset.parent = parent;
      fillQuote(q, parent);
      li.append(q);
    }

    const body = document.createElement("span");
    body.className = "body";
    if (d.deleted) body.textContent = t("deleted");
    else appendText(body, d.body);

    if (d.msgtype === "m.emote") li.append(time, " ", "* ", ...who, " ", body);
    else li.append(time, " ", ...who, document.createTextNode(": "), body);

    if (d.edited) {
      const e = document.createElement("span");
      e.className = "edited";
      e.textContent = t("edited");
      li.append(" ", e);
    }
    if (!pendingEcho && !d.deleted && !readOnly) {
      const acts = document.createElement("span");
      acts.className = "acts";
      acts.append(actButton("reply", t("reply"), nameOf(ev.sender)));
      if (own && (d.msgtype === "m.text" || d.msgtype === "m.emote")) acts.append(actButton("edit", t("edit"), ""));
      li.append(" ", acts);
    }
    return li;
  }

  function actButton(act, label, who) {
    const b = document.createElement("button");
    b.type = "button";
    b.dataset.act = act;
    b.tabIndex = -1;
    b.textContent = label;
    if (who) b.setAttribute("aria-label", label + ": " + who);
    return b;
  }

  function repaint(id) {
    const s = shown.get(id);
    if (!s) return;
    const fresh = build(s.ev, s.el.dataset.tok);
    const wasCurrent = current === s.el;
    const hadFocus = document.activeElement && s.el.contains(document.activeElement);
    s.el.replaceWith(fresh);
    s.el = fresh;
    if (wasCurrent) setCurrent(fresh, hadFocus);
    rememberQuote(s.ev);
    for (const q of ui.list.querySelectorAll(".quote")) if (q.dataset.parent === id) fillQuote(q, id);
  }

  const atBottom = () => ui.scroll.scrollHeight - ui.scroll.scrollTop - ui.scroll.clientHeight < 48;
  const scrollToBottom = () => {
    ui.scroll.scrollTop = ui.scroll.scrollHeight;
  };

  function updateEarlier() {
    ui.earlier.hidden = atStart || !backToken;
    ui.start.hidden = !atStart;
  }

  function showJump(show) {
    ui.jump.hidden = !show;
  }

  function forget(li) {
    if (li.dataset.id) shown.delete(li.dataset.id);
    if (li === current) current = null;
  }

  function resetTimeline() {
    ui.list.textContent = "";
    shown.clear();
    current = null;
    tail = [];
    live = true;
    atStart = false;
    showJump(false);
  }

  function pruneTop(stick) {
    let excess = ui.list.childElementCount - CAP;
    if (excess <= 0) return;
    const before = ui.scroll.scrollHeight;
    while (excess-- > 0) {
      const li = ui.list.firstElementChild;
      forget(li);
      li.remove();
    }
    // Paging back from the end of the new first message's chunk finds what was pruned.
    const head = ui.list.firstElementChild;
    backToken = (liveMode ? head.dataset.id : head.dataset.tok) || backToken;
    atStart = false;
    updateEarlier();
    if (!stick) ui.scroll.scrollTop -= before - ui.scroll.scrollHeight;
  }

  function pruneBottom() {
    let excess = ui.list.childElementCount - CAP;
    if (excess <= 0) return;
    while (excess-- > 0) {
      const li = ui.list.lastElementChild;
      forget(li);
      li.remove();
    }
    live = false;
    showJump(true);
  }

  // ---- keyboard: the message list is one tab stop; arrows move between messages ---------------
  function setCurrent(li, focus) {
    if (current && current !== li) {
      current.tabIndex = -1;
      for (const b of current.querySelectorAll("button")) b.tabIndex = -1;
    }
    current = li;
    if (!li) return;
    li.tabIndex = 0;
    for (const b of li.querySelectorAll("button")) b.tabIndex = 0;
    if (focus) li.focus();
  }

  function ensureCurrent() {
    if (!current || !current.isConnected) setCurrent(ui.list.lastElementChild, false);
  }

  ui.list.addEventListener("keydown", (e) => {
    const li = e.target.closest && e.target.closest("li.msg");
    if (!li || e.target !== li) return;
    let next = null;
    if (e.key === "ArrowUp") next = li.previousElementSibling;
    else if (e.key === "ArrowDown") next = li.nextElementSibling;
    else if (e.key === "Home") next = ui.list.firstElementChild;
    else if (e.key === "End") next = ui.list.lastElementChild;
    else if (e.key === "Escape") {
      ui.input.focus();
      e.preventDefault();
      return;
    } else return;
    e.preventDefault();
    if (next) setCurrent(next, true);
  });
  ui.list.addEventListener("focusin", (e) => {
    const li = e.target.closest && e.target.closest("li.msg");
    if (li && li !== current) setCurrent(li, false);
  });
  ui.list.addEventListener("click", (e) => {
    const b = e.target.closest && e.target.closest("button[data-act]");
    if (!b) return;
    const li = b.closest("li.msg");
    if (li && li.dataset.id) startContext(b.dataset.act, li.dataset.id);
  });

  // ---- screen-reader announcements (throttled) ------------------------------------------------
  let annCount = 0;
  let annLast = null;
  let annTimer = 0;
  let annAt = 0;
  function announce(evs) {
    if (!evs.length) return;
    annCount += evs.length;
    annLast = evs[evs.length - 1];
    if (!annTimer) annTimer = setTimeout(flushAnnounce, Math.max(0, annAt + ANNOUNCE_EVERY - Date.now()));
  }
  function flushAnnounce() {
    annTimer = 0;
    annAt = Date.now();
    if (!annLast) return;
    const text = clean(displayed(annLast).body.replace(/\s+/g, " "), 140);
    const who = nameOf(annLast.sender);
    ui.announce.textContent =
      annCount === 1 ? who + ": " + text : t("new_messages", { n: annCount }) + " " + who + ": " + text;
    annCount = 0;
    annLast = null;
  }

  // ---- the timeline ------------------------------------------------------------------------------
  function redact(targetId) {
    if (!targetId) return;
    redacted.add(targetId);
    bound(redacted);
    if (shown.has(targetId)) repaint(targetId);
    else if (quotes.has(targetId)) quotes.set(targetId, { sender: quotes.get(targetId).sender, text: t("deleted") });
  }

  function applyEdit(ev) {
    const target = relation(ev).event_id;
    if (typeof target !== "string") return;
    // Keyed by target and sender: only the original sender's edits ever count, and one from
    // anyone else must not push a genuine one out.
    const key = editKey(target, ev.sender);
    const prev = edits.get(key);
    if (prev && (prev.origin_server_ts || 0) > (ev.origin_server_ts || 0)) return;
    edits.set(key, ev);
    bound(edits);
    if (shown.has(target)) repaint(target);
    else if (quotes.has(target) && quotes.get(target).sender === ev.sender) {
      const nc = (ev.content || {})["m.new_content"] || {};
      if (typeof nc.body === "string") quotes.set(target, { sender: ev.sender, text: nc.body });
    }
  }

  function settlePending(ev) {
    const txn = ev.unsigned && ev.unsigned.transaction_id;
    for (const p of pending) {
      if (p.done) continue;
      if ((txn && p.txn === txn) || (p.eventId && p.eventId === ev.event_id)) {
        p.done = true;
        p.eventId = ev.event_id;
        p.el.remove();
        pending = pending.filter((x) => x !== p);
        save();
        return;
      }
    }
  }

  function isMessage(ev) {
    return ev.type === "m.room.message" && !isEdit(ev);
  }

  /* New events in timeline order (from sync or a gap fill). `tok` is a position just after their
   * chunk, kept on each message so paging back after a prune finds what was pruned. */
  function ingest(events, tok, fresh) {
    const frag = document.createDocumentFragment();
    const heard = [];
    let added = 0;
    for (const ev of events) {
      const id = ev.event_id;
      if (!id) continue;
      settlePending(ev);
      if (handled.has(id) || shown.has(id)) continue;
      handled.add(id);
      if (ev.type === "m.room.redaction") {
        redact(ev.redacts || (ev.content && ev.content.redacts));
        tail = tail.filter((x) => x.ev.event_id !== (ev.redacts || (ev.content && ev.content.redacts)));
        continue;
      }
      if (ev.type !== "m.room.message") continue;
      if (isEdit(ev)) {
        applyEdit(ev);
        continue;
      }
      tail.push({ ev, tok });
      rememberQuote(ev);
      if (!live) continue;
      const li = build(ev, tok);
      shown.set(id, { ev, el: li });
      frag.append(li);
      added++;
      if (fresh && ev.sender !== me) heard.push(ev);
    }
    bound(handled);
    if (tail.length > CACHE_EVENTS) tail = tail.slice(-CACHE_EVENTS);
    if (added) {
      const stick = atBottom();
      ui.list.append(frag);
      pruneTop(stick);
      if (stick) scrollToBottom();
      else showJump(true);
      ensureCurrent();
    } else if (!live && events.length) {
      showJump(true);
    }
    announce(heard);
  }

  const eventFilter = () => JSON.stringify({ lazy_load_members: true, types: SHOWN_TYPES });

  async function fillGap(prevBatch, tok) {
    // A limited sync skipped events (the connection was down, or a flood outran us). Fetch the
    // skipped ones; if too many were missed, start the view afresh (older ones stay reachable
    // through "load earlier").
    if (!live) {
      tail = [];
      return;
    }
    try {
      const res = await api("GET", roomPath("/messages"), {
        query: { dir: "b", from: prevBatch, limit: GAP_LIMIT, filter: eventFilter() },
      });
      learn(res.state);
      const chunk = res.chunk || [];
      const known = chunk.findIndex((ev) => handled.has(ev.event_id));
      if (known >= 0) {
        ingest(chunk.slice(0, known).reverse(), prevBatch, true);
        return;
      }
      resetTimeline();
      backToken = res.end || null;
      atStart = !res.end;
      ingest(chunk.slice().reverse(), prevBatch, false);
    } catch (e) {
      resetTimeline();
      backToken = prevBatch;
    }
    updateEarlier();
  }

  async function loadEarlier() {
    if (loadingEarlier || !backToken || !auth) return;
    loadingEarlier = true;
    ui.earlier.disabled = true;
    ui.earlier.textContent = t("loading");
    // Paging back from the newest events (as on opening): the reload cache keeps the page too.
    const first = ui.list.firstElementChild;
    const head = tail.length && shown.get(tail[0].ev.event_id);
    const joinsTail = tail.length < CACHE_EVENTS && (head ? head.el === first : !tail.length && !first);
    try {
      let from = backToken;
      const older = []; // [{ev, tok}], newest first
      for (let page = 0; page < 4 && older.length === 0 && from; page++) {
        const res = liveMode
          ? await livePage(from)
          : await api("GET", roomPath("/messages"), {
              query: { dir: "b", from, limit: PAGE_LIMIT, filter: eventFilter() },
            });
        learn(res.state);
        const chunk = res.chunk || [];
        for (const ev of chunk) {
          if (ev.type === "m.room.redaction") redact(ev.redacts || (ev.content && ev.content.redacts));
          else if (ev.type === "m.room.message" && isEdit(ev)) applyEdit(ev);
        }
        for (const ev of chunk) {
          if (isMessage(ev) && ev.event_id && !shown.has(ev.event_id)) {
            older.push({ ev, tok: liveMode ? ev.event_id : res.start || from });
          }
        }
        from = chunk.length ? res.end || null : null;
      }
      backToken = from;
      atStart = !from;
      if (older.length) {
        const frag = document.createDocumentFragment();
        for (const { ev, tok } of older.reverse()) {
          rememberQuote(ev);
          const li = build(ev, tok);
          shown.set(ev.event_id, { ev, el: li });
          frag.append(li);
        }
        const before = ui.scroll.scrollHeight;
        const top = ui.scroll.scrollTop;
        ui.list.prepend(frag);
        ui.scroll.scrollTop = top + (ui.scroll.scrollHeight - before);
        for (const q of ui.list.querySelectorAll(".quote.unknown")) fillQuote(q, q.dataset.parent);
        pruneBottom();
        ensureCurrent();
        if (joinsTail) {
          tail = older.concat(tail).slice(-CACHE_EVENTS); // `older` is oldest first by now
          save();
        }
      }
    } catch (e) {
      if (e.status === 401) await reauth();
      else flashStatus(t("earlier_failed"));
    } finally {
      loadingEarlier = false;
      ui.earlier.disabled = false;
      ui.earlier.textContent = t("load_earlier");
      updateEarlier();
    }
  }

  function jumpToLatest() {
    if (live) {
      scrollToBottom();
      showJump(false);
      return;
    }
    // The newest events are kept in `tail` whatever the DOM shows: no request needed.
    const keep = tail;
    resetTimeline();
    tail = keep;
    const frag = document.createDocumentFragment();
    for (const { ev, tok } of keep) {
      const li = build(ev, tok);
      shown.set(ev.event_id, { ev, el: li });
      frag.append(li);
    }
    ui.list.append(frag);
    backToken = keep.length ? keep[0].tok : since;
    updateEarlier();
    ensureCurrent();
    scrollToBottom();
  }

  ui.earlier.addEventListener("click", loadEarlier);
  ui.jump.addEventListener("click", jumpToLatest);
  ui.scroll.addEventListener(
    "scroll",
    () => {
      if (live && !ui.jump.hidden && atBottom()) showJump(false);
    },
    { passive: true },
  );

  let flashTimer = 0;
  function flashStatus(text) {
    if (root.dataset.state !== "live") return;
    ui.status.textContent = text;
    clearTimeout(flashTimer);
    flashTimer = setTimeout(() => {
      if (root.dataset.state === "live") ui.status.textContent = "";
    }, 6000);
  }

  // ---- sync ------------------------------------------------------------------------------------
  function syncFilter(first) {
    const none = { not_types: ["*"] };
    // The first sync asks for a single event of any type. Synapse builds a first-sync timeline
    // for every room the account is in and applies the room filter only afterwards, reading back
    // up to five batches of twice the limit in each room (through every join of a freshly filled
    // room, when asked for messages only): a cost that grows with the rooms and their size. The
    // messages then come from /messages, where the type filter is applied in the database.
    // Later syncs ask for messages (and the rare power-level change, for badges) only, so joins,
    // leaves and renames never wake this client. Member events arrive only for the senders of
    // what we get.
    const timeline = { limit: first ? FIRST_SYNC_LIMIT : TIMELINE_LIMIT, lazy_load_members: true };
    if (!first) timeline.types = [...SHOWN_TYPES, "m.room.power_levels"];
    return JSON.stringify({
      presence: none,
      account_data: none,
      room: {
        rooms: [rid],
        state: { lazy_load_members: true, types: ["m.room.member", "m.room.power_levels"] },
        timeline,
        ephemeral: none,
        account_data: none,
      },
    });
  }

  async function handleSync(data, first) {
    const rooms = data.rooms || {};
    const room = rooms.join && rooms.join[rid];
    if (room) {
      const summary = room.summary || {};
      if (typeof summary["m.joined_member_count"] === "number") setCount(summary["m.joined_member_count"]);
      learn(room.state && room.state.events);
      const tl = room.timeline || {};
      const events = tl.events || [];
      learn(events);
      if (first) {
        resetTimeline();
        backToken = tl.prev_batch || null;
        atStart = !tl.prev_batch;
        updateEarlier();
      } else if (tl.limited && tl.prev_batch) {
        await fillGap(tl.prev_batch, data.next_batch);
      }
      ingest(events, data.next_batch, !first);
      // The latest messages before the first sync's one event.
      if (first && backToken) loadEarlier();
    }
    if (rooms.leave && rooms.leave[rid]) fatal(t("left_room"));
    return !!(room && room.timeline && room.timeline.events && room.timeline.events.length);
  }

  async function syncLoop() {
    let failures = 0;
    let catchUp = true; // after a (re)start, answer at once rather than long-poll, so the state is known
    root.dataset.transport = "sync";
    while (!stopped && !liveMode) {
      const first = !since;
      const query = { filter: syncFilter(first), timeout: catchUp ? 0 : SYNC_TIMEOUT, set_presence: "offline" };
      if (since) query.since = since;
      try {
        const data = await api("GET", "/sync", { query, timeout: SYNC_TIMEOUT + REQUEST_TIMEOUT });
        if (stopped) return;
        const busy = await handleSync(data, first);
        since = data.next_batch || since;
        save();
        if (failures) wake(); // the server is back: retry waiting sends now
        failures = 0;
        catchUp = false;
        if (root.dataset.state !== "live") setState("live", "");
        // A busy room: pause (see SYNC_PACE) so that the next sync carries a batch.
        if (busy && !first) await sleep(syncPace(), false);
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        if (e.status === 401) {
          if (await reauth()) continue;
          return;
        }
        if (!e.transient) {
          if (since) {
            // A stale position (e.g. the server's caches were reset): start afresh.
            since = null;
            continue;
          }
          fatal(t("sync_failed") + " " + e.message);
          return;
        }
        failures++;
        catchUp = true;
        setState("reconnecting", t("reconnecting"));
        await sleep(backoff(failures, e.retryAfterMs), !e.retryAfterMs);
      }
    }
  }

  // ---- live: one EventSource on the front end's fan-out ----------------------------------------------
  // The homeserver pushes each event once and nginx (nchan) hands it to every viewer, replaying its
  // latest messages to a new one. A reconnect resumes after the last message seen; ingest drops any
  // repeat by event ID. If the live endpoint keeps failing, the chat reads with /sync instead, and
  // tries the live stream again after 10 s, 20 s, … at most every 5 minutes.
  const LIVE_TRIES = 4;
  const LIVE_RETRY = 10000;
  const LIVE_RETRY_MAX = 300000;
  let liveMode = false;
  let liveSource = null;
  let lastLiveId = "";

  function liveFetch(url, init) {
    const L = auth.live;
    const headers = { ...(init.headers || {}) };
    if (L.pass) headers["X-Live-Pass"] = L.pass;
    return getJson(url, { ...init, headers, credentials: L.pass ? "omit" : "same-origin" }, REQUEST_TIMEOUT);
  }

  async function liveUrl() {
    const L = auth.live;
    const q = new URLSearchParams();
    if (L.pass) {
      // No cookies in a frame on BBB's site: a single-use ticket per connection, bought with the pass.
      const body = JSON.stringify({ pass: L.pass });
      const res = await liveFetch(L.ticket_url, { method: "POST", headers: { "Content-Type": "application/json" }, body });
      q.set("ticket", res.ticket);
    }
    if (lastLiveId) q.set("last_event_id", lastLiveId);
    return L.url + (q.size ? "?" + q : "");
  }

  async function livePage(before) {
    // "Load earlier" from the front end: one cached page per room and position for every viewer.
    const res = await liveFetch(auth.live.history + "?" + new URLSearchParams({ before }), { method: "GET" });
    const chunk = res.chunk || [];
    for (const ev of chunk) if (typeof ev.name === "string") setMember(ev.sender, ev.name);
    return { chunk, end: res.more && chunk.length ? chunk[chunk.length - 1].event_id : null };
  }

  function onLive(data) {
    let ev;
    try {
      ev = JSON.parse(data);
    } catch (e) {
      return;
    }
    if (!ev || typeof ev.event_id !== "string") return;
    if (typeof ev.name === "string") setMember(ev.sender, ev.name);
    if (!backToken) {
      backToken = ev.event_id; // the oldest event heard: "load earlier" starts before it
      updateEarlier();
    }
    ingest([ev], ev.event_id, true);
  }

  function liveOnce() {
    // One connection; resolves when it ends, with whether it had opened.
    return new Promise((resolve) => {
      liveUrl().then(
        (url) => {
          const es = (liveSource = new EventSource(url));
          let opened = false;
          es.onopen = () => {
            opened = true;
            if (!liveMode) {
              // Back from /sync: the sync loop stops at its next turn; "load earlier" asks the front end.
              liveMode = true;
              backToken = (ui.list.firstElementChild && ui.list.firstElementChild.dataset.id) || null;
              updateEarlier();
            }
            root.dataset.transport = "live";
            setState("live", "");
            wake();
          };
          es.onmessage = (m) => {
            if (m.lastEventId) lastLiveId = m.lastEventId;
            onLive(m.data);
          };
          es.onerror = () => {
            es.close();
            resolve(opened);
          };
        },
        () => resolve(false),
      );
    });
  }

  async function liveLoop() {
    liveMode = true;
    let failures = 0;
    let retry = LIVE_RETRY;
    while (!stopped) {
      const opened = await liveOnce();
      if (stopped) return;
      if (opened) {
        failures = 1;
        retry = LIVE_RETRY;
      } else failures++;
      if (liveMode && failures < LIVE_TRIES) {
        setState("reconnecting", t("reconnecting"));
        await sleep(backoff(failures));
        continue;
      }
      if (liveMode && !(await fallBack())) return;
      await sleep(retry * (0.75 + Math.random() / 2), false);
      retry = Math.min(retry * 2, LIVE_RETRY_MAX);
    }
  }

  async function fallBack() {
    liveMode = false;
    if (!auth.access_token) {
      try {
        adopt(await fetchToken(false, auth.live.pass ? { pass: auth.live.pass } : { sync: true }));
      } catch (e) {
        fatal(t("token_failed"));
        return false;
      }
    }
    // The sync starts afresh: its first answer resets the view and shows the latest messages again.
    since = null;
    handled.clear();
    backToken = null;
    syncLoop();
    return true;
  }

  // ---- sending --------------------------------------------------------------------------------------
  let pumping = false;

  function newTxn() {
    const rand = new Uint32Array(2);
    crypto.getRandomValues(rand);
    return "lpc" + Date.now().toString(36) + rand[0].toString(36) + rand[1].toString(36);
  }

  function pendingView(p) {
    const ev = { event_id: "", sender: me, origin_server_ts: p.ts || Date.now(), content: p.content };
    let li;
    if (isEdit(ev)) {
      li = build({ ...ev, content: { ...p.content["m.new_content"] } }, "", true);
      li.classList.add("is-edit");
    } else {
      li = build(ev, "", true);
    }
    li.classList.add("pending");
    const note = document.createElement("span");
    note.className = "state";
    li.append(" ", note);
    return li;
  }

  function setPendingState(p, state, text) {
    p.state = state;
    p.el.dataset.state = state;
    const note = p.el.querySelector(".state");
    note.textContent = text;
    if (state === "failed") {
      const retry = actButton("retry", t("retry"), "");
      const drop = actButton("discard", t("discard"), "");
      retry.tabIndex = drop.tabIndex = 0;
      retry.addEventListener("click", () => {
        retry.remove();
        drop.remove();
        setPendingState(p, "queued", t("sending"));
        pump();
      });
      drop.addEventListener("click", () => {
        p.done = true;
        p.el.remove();
        pending = pending.filter((x) => x !== p);
        save();
      });
      note.append(" ", retry, " ", drop);
    }
  }

  function queueSend(content, txn) {
    const p = { txn: txn || newTxn(), content, state: "queued", eventId: "", done: false, ts: Date.now() };
    p.el = pendingView(p);
    pending.push(p);
    ui.pending.append(p.el);
    setPendingState(p, "queued", t("sending"));
    if (live) scrollToBottom();
    save();
    pump();
  }

  async function pump() {
    // One message in flight at a time keeps the room's order the order they were typed in.
    if (pumping) return;
    pumping = true;
    try {
      for (;;) {
        const p = pending.find((x) => !x.done && x.state === "queued");
        if (!p || stopped) break;
        await deliver(p);
      }
    } finally {
      pumping = false;
    }
  }

  async function deliver(p) {
    setPendingState(p, "sending", t("sending"));
    let attempt = 0;
    while (!p.done && !stopped) {
      try {
        // The same transaction ID on every retry: the server stores the message once.
        const path = roomPath("/send/m.room.message/" + encodeURIComponent(p.txn));
        const res = await api("PUT", path, { body: p.content });
        p.eventId = res.event_id || "";
        if (!p.done) {
          if (handled.has(p.eventId)) settlePending({ event_id: p.eventId });
          else setPendingState(p, "sent", t("sent"));
        }
        wake();
        return;
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        if (e.status === 401) {
          if (await reauth()) continue;
          return;
        }
        if (!e.transient) {
          setPendingState(p, "failed", t("not_sent") + " " + e.message);
          return;
        }
        attempt++;
        setPendingState(p, "sending", t("waiting_to_send"));
        await sleep(backoff(attempt, e.retryAfterMs), !e.retryAfterMs);
      }
    }
  }

  // ---- composer ---------------------------------------------------------------------------------
  function startContext(kind, id) {
    const s = shown.get(id);
    if (!s || readOnly) return;
    context = { kind, id };
    const d = displayed(s.ev);
    ui.contextText.textContent =
      kind === "edit" ? t("editing") : t("replying_to", { name: nameOf(s.ev.sender) }) + ": " + clean(d.body, 80);
    ui.context.hidden = false;
    if (kind === "edit") ui.input.value = d.body;
    ui.input.focus();
    resize();
  }

  function endContext() {
    if (context && context.kind === "edit") ui.input.value = "";
    context = null;
    ui.context.hidden = true;
    ui.contextText.textContent = "";
    resize();
  }
  ui.contextCancel.addEventListener("click", () => {
    endContext();
    ui.input.focus();
  });

  function submit() {
    if (readOnly || !auth || stopped) return;
    const text = ui.input.value.replace(/\s+$/, "");
    if (!text.trim()) return;
    let content;
    if (context && context.kind === "edit" && shown.has(context.id)) {
      const orig = shown.get(context.id).ev;
      const msgtype = displayed(orig).msgtype === "m.emote" ? "m.emote" : "m.text";
      content = {
        msgtype,
        body: "* " + text,
        "m.new_content": { msgtype, body: text },
        "m.relates_to": { rel_type: "m.replace", event_id: context.id },
      };
    } else {
      if (text.startsWith("/me ")) content = { msgtype: "m.emote", body: text.slice(4) };
      else content = { msgtype: "m.text", body: text.startsWith("//") ? text.slice(1) : text };
      if (context && context.kind === "reply") content["m.relates_to"] = { "m.in_reply_to": { event_id: context.id } };
    }
    context = null;
    ui.context.hidden = true;
    ui.input.value = "";
    resize();
    if (!live) jumpToLatest();
    queueSend(content);
  }

  ui.form.addEventListener("submit", (e) => {
    e.preventDefault();
    submit();
    ui.input.focus();
  });
  ui.input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      submit();
    } else if (e.key === "Escape" && context) {
      e.preventDefault();
      endContext();
    } else if (e.key === "ArrowUp" && !ui.input.value && !context) {
      const mine = [...shown.values()].reverse().find((s) => s.ev.sender === me && !displayed(s.ev).deleted);
      if (mine) {
        e.preventDefault();
        startContext("edit", mine.ev.event_id);
      }
    }
  });

  const growsItself = window.CSS && CSS.supports && CSS.supports("field-sizing", "content");
  function resize() {
    if (growsItself) return;
    ui.input.style.height = "auto";
    ui.input.style.height = Math.min(ui.input.scrollHeight + 2, 160) + "px";
  }
  ui.input.addEventListener("input", resize);

  // ---- the token hand-off ---------------------------------------------------------------------------
  function expired(a) {
    if (!a || !a.expires_at) return false;
    let at = typeof a.expires_at === "number" ? a.expires_at : Date.parse(a.expires_at);
    if (typeof a.expires_at === "number" && at < 1e12) at *= 1000;
    return Number.isFinite(at) && at - 60000 < Date.now();
  }

  function dropTicketFromUrl() {
    const url = new URL(location.href);
    if (!url.searchParams.has("ticket")) return;
    url.searchParams.delete("ticket");
    history.replaceState(history.state, "", url.pathname + url.search + url.hash);
  }

  async function fetchToken(quiet = false, extra = {}) {
    const headers = { "Content-Type": "application/json", Accept: "application/json" };
    const csrf = (document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/) || [])[1] || root.dataset.csrf;
    if (csrf) headers["X-CSRFToken"] = decodeURIComponent(csrf);
    let attempt = 0;
    for (;;) {
      const body = ticket ? { ticket } : extra;
      try {
        const data = await getJson(
          tokenUrl,
          { method: "POST", headers, body: JSON.stringify(body), credentials: "same-origin" },
          REQUEST_TIMEOUT,
        );
        if (!(data.access_token || data.live) || !data.room_id || !data.homeserver) {
          throw new ApiError(500, "", t("token_failed"));
        }
        if (ticket) {
          ticket = "";
          dropTicketFromUrl();
        }
        return data;
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        if (!e.transient || quiet) {
          if (!e.transient) {
            // A spent or expired ticket is of no further use; keep it out of the address bar.
            ticket = "";
            dropTicketFromUrl();
          }
          throw e;
        }
        attempt++;
        setState(auth ? "reconnecting" : "connecting", t("reconnecting"));
        await sleep(backoff(attempt, e.retryAfterMs), !e.retryAfterMs);
      }
    }
  }

  function adopt(a) {
    auth = a;
    me = a.user_id || "";
    rid = a.room_id;
    readOnly = readOnlyPage || !!a.read_only;
    root.dataset.user = me;
    ui.input.disabled = readOnly;
    ui.send.disabled = readOnly;
  }

  let reauthing = null;
  function reauth() {
    // Sync and send may both notice at once: one request for a new token serves both.
    if (!reauthing) reauthing = renewToken().finally(() => (reauthing = null));
    return reauthing;
  }

  async function renewToken() {
    // The access token was revoked or expired: ask the front end for a fresh one (a logged-in
    // session can; a ticket cannot be used twice).
    try {
      const a = await fetchToken();
      if (a.user_id !== me || a.room_id !== rid) {
        startOver();
        return false;
      }
      adopt(a);
      saveNow();
      return true;
    } catch (e) {
      fatal(t("session_ended"));
      return false;
    }
  }

  function startOver() {
    // Someone else logged in, or this room's chat is now another Matrix room (the next track
    // took over the room): what this tab kept no longer applies.
    stopped = true;
    if (liveSource) liveSource.close();
    try {
      sessionStorage.removeItem(storeKey);
    } catch (e) {
      // nothing stored
    }
    location.reload();
  }

  const RECHECK = 10 * 60 * 1000;
  function scheduleRecheck() {
    // Every ~10 minutes ask the front end again (cheap: it reuses the token). That renews the
    // token before it expires and follows the room to the next track's chat.
    setTimeout(
      async () => {
        try {
          const a = await fetchToken(true);
          if (a.user_id !== me || a.room_id !== rid) return startOver();
          if (a.access_token !== auth.access_token) {
            adopt(a);
            saveNow();
          }
        } catch (e) {
          // Not now (offline, logged out elsewhere): the sync notices a dead token by itself.
        }
        if (!stopped) scheduleRecheck();
      },
      RECHECK * (0.75 + Math.random() / 2),
    );
  }

  function restore(saved) {
    for (const [uid, name] of Object.entries(saved.names || {})) setMember(uid, name);
    if (saved.power && saved.power.users) setPower({ users: saved.power.users, users_default: saved.power.dflt });
    stale.clear(); // nothing is on screen yet
    for (const [id, ev] of Object.entries(saved.edits || {})) edits.set(id, ev);
    for (const id of saved.redacted || []) redacted.add(id);
    if (typeof saved.count === "number") setCount(saved.count);
    const events = Array.isArray(saved.tail) ? saved.tail.filter((x) => x && x.ev && x.ev.event_id) : [];
    if (saved.since && events.length) {
      since = saved.since;
      backToken = events[0].tok || null;
      ingest(
        events.map((x) => x.ev),
        "",
        false,
      );
      // ingest stamps one token on all; give each restored message its own again.
      tail = events;
      for (const x of events) {
        const s = shown.get(x.ev.event_id);
        if (s && x.tok) s.el.dataset.tok = x.tok;
      }
      updateEarlier();
      scrollToBottom();
    }
  }

  async function boot() {
    const saved = loadStore();
    const usable = saved.auth && !expired(saved.auth) ? saved.auth : null;
    let viaFrontEnd = false; // this page can ask for a token again (a logged-in or guest session)
    try {
      // Always ask first, even with a token kept for this tab: the room's chat may have moved on
      // to the next track. A ticket was spent on the first load, so a framed page that has no
      // session cookie falls back to the token this tab kept.
      const hadTicket = !!ticket;
      try {
        adopt(await fetchToken());
        viaFrontEnd = !hadTicket;
      } catch (e) {
        if (!usable || !(e instanceof ApiError) || e.transient) throw e;
        adopt(usable);
      }
    } catch (e) {
      fatal(e.message || t("token_failed"));
      return;
    }
    const same = saved.auth && saved.auth.user_id === me && saved.auth.room_id === rid;
    if (same) restore(saved);
    setState("connecting", t("connecting"));
    if (!readOnly) {
      for (const p of (same && saved.pending) || []) if (p && p.txn && p.content) queueSend(p.content, p.txn);
    }
    saveNow();
    if (viaFrontEnd) scheduleRecheck();
    if (auth.live) liveLoop();
    else syncLoop();
  }

  boot();
})();
