/* Frontdesk chat widget. One script tag, no framework, no cookies; nothing
   is stored and nothing connects until the visitor opens the chat.
   Protocol: docs/protocol.md */
(function () {
  'use strict';
  if (window.Frontdesk) return;
  var d = document, tag = d.currentScript || d.querySelector('script[src*="widget.js"]');
  var cfg = (tag && tag.dataset) || {};
  // The socket sits next to this script, so any site can embed it.
  var url = new URL('ws', tag && tag.src || location.href);
  url.protocol = url.protocol == 'https:' ? 'wss:' : 'ws:';
  var VKEY = 'frontdesk.visitor', OKEY = 'frontdesk.open', token = cfg.identityToken || '';
  var ws = null, ready = false, tries = 0, timer = 0, started = false, isOpen = false;
  var visitor = '', conv = '', reset = false, unread = 0;
  var pending = {}; // client id -> unacked message, resent with the same id
  var byId = {}, byCid = {}; // message id / client id -> element

  function el(name, attrs, text) {
    var e = d.createElement(name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text) e.textContent = text;
    return e;
  }
  function store(s, k, v) { try { v == null ? s.removeItem(k) : s.setItem(k, v); } catch (e) { /* blocked */ } }
  function load(s, k) { try { return s.getItem(k); } catch (e) { return null; } }
  function rid(n) {
    var b = crypto.getRandomValues(new Uint8Array(n)), s = '';
    for (var i = 0; i < n; i++) s += (b[i] < 16 ? '0' : '') + b[i].toString(16);
    return s;
  }

  var accent = cfg.color && window.CSS && CSS.supports('color', cfg.color) ? cfg.color : '#1f6f5c';
  // Every rule is scoped under #frontdesk-root (&) so the shop's CSS and
  // ours leave each other alone; $ is the accent color.
  var css = [
    '&{all:initial}',
    '& *{box-sizing:border-box;margin:0;padding:0;font:14px/1.45 system-ui,sans-serif;color:inherit}',
    '& [hidden]{display:none!important}',
    '& button{cursor:pointer;border:0;background:none}',
    '& :focus-visible{outline:3px solid #f4b400;outline-offset:2px}',
    '& #frontdesk-launcher{position:fixed;right:20px;bottom:20px;z-index:2147483000;width:56px;height:56px;border-radius:50%;background:$;box-shadow:0 4px 14px #0004;display:grid;place-items:center}',
    '& svg{width:24px;height:24px;fill:#fff}',
    '& #frontdesk-badge{position:absolute;top:-2px;right:-2px;min-width:20px;border-radius:10px;background:#c62828;color:#fff;font-size:12px;text-align:center;padding:0 5px}',
    '& #frontdesk-panel{position:fixed;right:20px;bottom:88px;z-index:2147483001;width:370px;height:560px;max-height:calc(100vh - 108px);display:flex;flex-direction:column;background:#fff;color:#1b1b1b;border-radius:14px;box-shadow:0 10px 40px #0005;overflow:hidden}',
    '& header{display:flex;align-items:center;gap:8px;padding:12px 14px;background:$;color:#fff}',
    '& h2{flex:1;font-size:16px;font-weight:600}',
    '& #frontdesk-status{font-size:12px}',
    '& #frontdesk-close{color:#fff;font-size:22px;width:32px;height:32px}',
    '& #frontdesk-log{flex:1;overflow-y:auto;padding:14px;display:flex;flex-direction:column;gap:8px;background:#f6f7f8}',
    '& .frontdesk-intro{color:#555;font-size:13px;text-align:center}',
    '& .frontdesk-msg{max-width:85%;padding:8px 11px;border-radius:12px;white-space:pre-wrap;overflow-wrap:anywhere;background:#fff;border:1px solid #e2e4e7;align-self:flex-start}',
    '& .frontdesk-msg-customer{align-self:flex-end;background:$;color:#fff}',
    '& .frontdesk-msg-system,& .frontdesk-msg-error{align-self:center;background:none;border:0;color:#555;font-size:13px}',
    '& .frontdesk-msg-error{color:#b3261e}',
    '& .frontdesk-author{display:block;font-size:12px;font-weight:600;color:#555}',
    '& .frontdesk-state{display:block;font-size:11px;text-align:right}',
    '& a{text-decoration:underline}',
    '& .frontdesk-choices{display:flex;flex-wrap:wrap;gap:6px;margin-top:8px}',
    '& .frontdesk-choice{border:1px solid $;color:$;background:#fff;border-radius:16px;padding:5px 12px}',
    '& form{display:flex;gap:8px;padding:10px;border-top:1px solid #e2e4e7}',
    '& textarea{flex:1;resize:none;height:42px;padding:10px;border:1px solid #c9cdd2;border-radius:10px}',
    '& #frontdesk-send{width:42px;border-radius:10px;background:$}',
    // Phones: full screen, sized by the viewport so a page that overflows
    // sideways cannot push the panel off screen.
    '@media (max-width:480px){& #frontdesk-panel{left:0;top:0;width:100vw;height:100dvh;max-height:none;border-radius:0}}',
    '@media (prefers-reduced-motion:no-preference){& #frontdesk-panel{animation:fd-in .2s ease-out}}',
    '@keyframes fd-in{from{opacity:0;transform:translateY(12px)}}'
  ].join('').replace(/&/g, '#frontdesk-root').replace(/\$/g, accent);

  function icon(path) {
    var NS = 'http://www.w3.org/2000/svg', s = d.createElementNS(NS, 'svg'), p = d.createElementNS(NS, 'path');
    s.setAttribute('viewBox', '0 0 24 24');
    s.setAttribute('aria-hidden', 'true');
    p.setAttribute('d', path);
    s.append(p);
    return s;
  }
  var title = cfg.title || 'Chat with us';
  var root = el('div', { id: 'frontdesk-root' }), style = el('style');
  style.textContent = css;
  var launcher = el('button', { id: 'frontdesk-launcher', type: 'button', 'aria-label': 'Open chat', 'aria-expanded': 'false', 'aria-controls': 'frontdesk-panel' });
  var badge = el('span', { id: 'frontdesk-badge', hidden: '' });
  launcher.append(icon('M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z'), badge);
  var panel = el('div', { id: 'frontdesk-panel', role: 'dialog', 'aria-label': title, hidden: '' });
  var status = el('span', { id: 'frontdesk-status', role: 'status' });
  var closeBtn = el('button', { id: 'frontdesk-close', type: 'button', 'aria-label': 'Close chat' }, '\u00d7');
  var head = el('header');
  head.append(el('h2', {}, title), status, closeBtn);
  var log = el('div', { id: 'frontdesk-log', role: 'log', 'aria-live': 'polite', 'aria-label': 'Messages', tabindex: '0' });
  var intro = el('p', { class: 'frontdesk-intro' }, cfg.greeting || 'Hi! How can we help?');
  log.append(intro);
  var form = el('form', { id: 'frontdesk-form' });
  var input = el('textarea', { id: 'frontdesk-input', rows: '1', maxlength: '4000', 'aria-label': 'Message', placeholder: 'Type your message\u2026' });
  var send = el('button', { id: 'frontdesk-send', type: 'submit', 'aria-label': 'Send' });
  send.append(icon('M3 20l18-8L3 4v6l12 2-12 2z'));
  form.append(input, send);
  panel.append(head, log, form);
  root.append(style, launcher, panel);

  function showBadge() { badge.textContent = unread > 9 ? '9+' : unread; badge.hidden = !unread; }

  // Text only ever goes in through text nodes; http(s) URLs become links.
  function fill(box, text) {
    var re = /\bhttps?:\/\/[^\s<>"']+/g, last = 0, m;
    while ((m = re.exec(text))) {
      var href = m[0].replace(/[.,;:!?)\]]+$/, '');
      box.append(text.slice(last, m.index), el('a', { href: href, target: '_blank', rel: 'noopener noreferrer nofollow' }, href));
      last = re.lastIndex = m.index + href.length;
    }
    box.append(text.slice(last));
  }

  // place keeps the log in seq order; a message without seq goes last, and
  // a placed message stays put.
  function place(e, seq) {
    if (seq) {
      e.dataset.seq = seq;
      for (var n = intro.nextSibling; n; n = n.nextSibling) {
        if (n != e && +n.dataset.seq > seq) { log.insertBefore(e, n); break; }
      }
    }
    if (e.parentNode != log) log.append(e);
    // Only the newest message keeps its quick replies.
    log.querySelectorAll('.frontdesk-choices').forEach(function (c) { if (c.parentNode != log.lastChild) c.remove(); });
    log.scrollTop = log.scrollHeight;
  }

  function bubble(role, text, author) {
    var b = el('div', { class: 'frontdesk-msg frontdesk-msg-' + role }), t = el('span', { class: 'frontdesk-text' });
    if (author || role == 'agent') b.append(el('span', { class: 'frontdesk-author' }, author || 'Support'));
    fill(t, text);
    b.append(t);
    return b;
  }
  function setState(b, s) {
    (b.querySelector('.frontdesk-state') || b.appendChild(el('span', { class: 'frontdesk-state' }))).textContent = s;
  }

  function render(m) {
    if (byId[m.id]) return;
    var b = m.client_id && byCid[m.client_id];
    if (b) {
      setState(b, 'Sent');
      delete pending[m.client_id];
    } else {
      b = bubble(m.role, m.text, m.author);
      if (m.client_id) byCid[m.client_id] = b;
      if (m.choices && m.choices.length) {
        var box = el('div', { class: 'frontdesk-choices', role: 'group', 'aria-label': 'Quick replies' });
        m.choices.forEach(function (c) {
          var btn = el('button', { type: 'button', class: 'frontdesk-choice' }, c.label);
          btn.onclick = function () { box.remove(); submit(c.label, c.value); input.focus(); };
          box.append(btn);
        });
        b.append(box);
      }
      if (m.role != 'customer' && !isOpen) { unread++; showBadge(); }
    }
    byId[m.id] = b;
    place(b, m.seq);
  }

  function submit(text, value) {
    text = text.trim();
    if (!text) return;
    var p = { id: 'm-' + rid(8), text: text, value: value }, b = bubble('customer', text);
    setState(b, 'Sending\u2026');
    byCid[p.id] = b;
    pending[p.id] = p;
    place(b);
    transmit(p);
  }
  function transmit(p) {
    if (ready) ws.send(JSON.stringify(p.value != null ? { type: 'choice', id: p.id, value: p.value, label: p.text } : { type: 'message', id: p.id, text: p.text }));
  }

  function onFrame(f) {
    var p = pending[f.id], b = byCid[f.id];
    if (f.type == 'welcome') {
      if (reset || (conv && f.conversation && f.conversation != conv)) {
        while (intro.nextSibling) intro.nextSibling.remove();
        byId = {};
        reset = false;
      }
      conv = f.conversation || conv;
      ready = true;
      tries = 0;
      status.textContent = '';
      (f.history || []).forEach(render);
      for (var id in pending) { place(byCid[id]); transmit(pending[id]); }
    } else if (f.type == 'ack') {
      delete pending[f.id];
      if (b) { setState(b, 'Sent'); place(b, f.seq); }
    } else if (f.type == 'message' && f.message) {
      render(f.message);
    } else if (f.type == 'error') {
      if (p && f.code == 'rate_limited') { // not stored: try again shortly
        setState(b, 'Waiting\u2026');
        setTimeout(function () { if (pending[p.id]) transmit(p); }, 5000);
      } else if (f.code == 'unauthorized') {
        console.warn('Frontdesk: ' + f.message); // the shop's problem, not the visitor's
      } else {
        if (p) { delete pending[p.id]; setState(b, 'Not sent'); }
        place(el('div', { class: 'frontdesk-msg frontdesk-msg-error' }, f.message || 'Something went wrong.'));
      }
    }
  }

  // The visitor id is created, and stored, only when the chat connects.
  function visitorID() {
    if (!visitor) {
      visitor = load(localStorage, VKEY) || '';
      if (!/^[\w-]{16,64}$/.test(visitor)) store(localStorage, VKEY, visitor = rid(16)); // 128 random bits
    }
    return visitor;
  }
  function connect() {
    clearTimeout(timer);
    status.textContent = tries ? 'Reconnecting\u2026' : 'Connecting\u2026';
    var s = ws = new WebSocket(url.href);
    s.onopen = function () {
      s.send(JSON.stringify({ type: 'hello', visitor: visitorID(), token: token || undefined }));
    };
    s.onmessage = function (e) {
      if (s == ws) try { onFrame(JSON.parse(e.data)); } catch (x) { /* ignore a bad frame */ }
    };
    s.onclose = function () {
      if (s != ws) return;
      ws = null;
      ready = false;
      status.textContent = 'Reconnecting\u2026';
      // Exponential back-off with jitter, so a server restart is no stampede.
      var delay = Math.min(30000, 500 * Math.pow(2, tries++));
      timer = setTimeout(connect, delay / 2 + Math.random() * delay / 2);
    };
  }
  function restart() {
    if (!started) return;
    var s = ws;
    ws = null;
    ready = false;
    if (s) s.close(1000);
    connect();
  }

  function open(focus) {
    isOpen = true;
    panel.hidden = false;
    launcher.setAttribute('aria-expanded', 'true');
    unread = 0;
    showBadge();
    store(sessionStorage, OKEY, '1');
    if (!started) { started = true; connect(); }
    if (focus !== false) input.focus();
  }
  function close() {
    isOpen = false;
    panel.hidden = true;
    launcher.setAttribute('aria-expanded', 'false');
    store(sessionStorage, OKEY, null);
    launcher.focus();
  }

  launcher.onclick = function () { isOpen ? close() : open(); };
  closeBtn.onclick = close;
  panel.onkeydown = function (e) { if (e.key == 'Escape') { e.preventDefault(); close(); } };
  input.onkeydown = function (e) {
    if (e.key == 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit(); }
  };
  form.onsubmit = function (e) {
    e.preventDefault();
    submit(input.value);
    input.value = '';
    input.focus();
  };

  window.Frontdesk = {
    open: open,
    close: close,
    // identify(token) switches to a verified shop user; identify(null) is a
    // logout: a fresh anonymous visitor. Tokens stay in memory only.
    identify: function (t) {
      token = t || '';
      if (!token) { visitor = ''; store(localStorage, VKEY, null); }
      reset = true;
      restart();
    }
  };
  function mount() {
    d.body.append(root);
    if (load(sessionStorage, OKEY) == '1') open(false);
  }
  d.body ? mount() : d.addEventListener('DOMContentLoaded', mount);
})();
