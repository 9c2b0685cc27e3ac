// Frontdesk agent console. Plain JavaScript, no dependencies: the queue and
// the open conversation are kept live over /agent/ws; every action goes
// through the JSON API with the session's CSRF token. All customer text is
// inserted with textContent, never as HTML.
(function () {
  "use strict";

  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var me = { id: document.body.dataset.agentId, name: document.body.dataset.agentName, role: document.body.dataset.role };
  var isAdmin = me.role === "admin";
  var state = { queue: null, current: null, view: null, agents: [], canned: [] };

  function $(id) { return document.getElementById(id); }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }

  function api(method, path, body) {
    var opts = { method: method, credentials: "same-origin", headers: { "Accept": "application/json" } };
    if (method !== "GET") opts.headers["X-CSRF-Token"] = csrf;
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch(path, opts).then(function (res) {
      if (res.status === 401) { location.href = "/agent/login"; throw new Error("Signed out."); }
      if (res.status === 204) return null;
      return res.json().then(function (data) {
        if (!res.ok) throw new Error((data && data.error && data.error.message) || ("Request failed (" + res.status + ")."));
        return data;
      });
    });
  }

  function showError(msg) {
    var e = $("error");
    if (!msg) { e.hidden = true; e.textContent = ""; return; }
    e.textContent = msg;
    e.hidden = false;
  }

  function duration(seconds) {
    if (seconds < 0) seconds = 0;
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = Math.floor(seconds % 60);
    if (h > 0) return h + "h " + m + "m";
    if (m > 0) return m + "m " + (s < 10 ? "0" : "") + s + "s";
    return s + "s";
  }

  function when(iso) {
    if (!iso) return "";
    var d = new Date(iso);
    return d.toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  }

  function customerName(c) {
    if (c.name) return c.name;
    if (c.email) return c.email;
    return "Visitor " + c.id.slice(-6);
  }

  var triggerLabels = {
    customer_request: "asked for a person", topic_needs_human: "topic needs a person",
    repeated_misses: "bot could not answer", frustration: "frustrated", repeated_question: "repeated question",
    order_problem: "order problem"
  };
  function triggerLabel(t) { return triggerLabels[t] || t || "—"; }

  // ---- Queue ----

  function renderQueue() {
    var q = state.queue;
    if (!q) return;
    var avail = $("availability");
    if (q.available) { avail.textContent = "Open"; avail.className = "badge ok"; }
    else { avail.textContent = q.unavailable_reason === "closed" ? "Outside business hours" : "No agents online"; avail.className = "badge warn"; }
    $("online").textContent = q.online_agents + (q.online_agents === 1 ? " agent online" : " agents online");
    var waiting = $("waiting"), held = $("held");
    waiting.replaceChildren(); held.replaceChildren();
    var nw = 0, nh = 0;
    q.items.forEach(function (it) {
      var li = el("li", "item" + (state.current === it.conversation_id ? " selected" : ""));
      li.dataset.conv = it.conversation_id;
      li.dataset.escalated = it.escalated_at;
      var top = el("div", "item-top");
      if (it.state === "waiting") top.appendChild(el("span", "pos", "#" + it.position));
      top.appendChild(el("span", "name", customerName(it.customer)));
      top.appendChild(el("span", "wait", duration(it.wait_seconds)));
      li.appendChild(top);
      var meta = el("div", "item-meta");
      meta.appendChild(el("span", "chip channel", it.channel));
      meta.appendChild(el("span", "chip stage", it.stage));
      meta.appendChild(el("span", "chip trigger", triggerLabel(it.trigger)));
      if (it.agent) meta.appendChild(el("span", "chip agent", "with " + it.agent.name));
      li.appendChild(meta);
      li.addEventListener("click", function () { openConversation(it.conversation_id); });
      if (it.state === "waiting") {
        var b = el("button", "claim small-button", "Claim");
        b.type = "button";
        b.addEventListener("click", function (ev) { ev.stopPropagation(); claim(it.conversation_id); });
        li.appendChild(b);
        waiting.appendChild(li); nw++;
      } else { held.appendChild(li); nh++; }
    });
    $("waiting-count").textContent = nw; $("held-count").textContent = nh;
    $("waiting-empty").hidden = nw > 0; $("held-empty").hidden = nh > 0;
    document.title = (nw ? "(" + nw + ") " : "") + "Frontdesk · Agent console";
  }

  // Waiting times tick without a server round trip.
  setInterval(function () {
    document.querySelectorAll(".item").forEach(function (li) {
      var t = Date.parse(li.dataset.escalated);
      if (!isNaN(t)) li.querySelector(".wait").textContent = duration((Date.now() - t) / 1000);
    });
  }, 1000);

  function loadQueue() {
    return api("GET", "/api/queue").then(function (q) { state.queue = q; renderQueue(); });
  }

  // ---- Conversation ----

  function openConversation(id) {
    if (state.current !== id) { $("link-results").replaceChildren(); $("link-query").value = ""; }
    state.current = id;
    showError("");
    renderQueue();
    return loadView();
  }

  function loadView() {
    var id = state.current;
    if (!id) return Promise.resolve();
    return api("GET", "/api/conversations/" + encodeURIComponent(id)).then(function (v) {
      if (state.current !== id) return;
      state.view = v;
      renderView();
    }).catch(function (err) {
      showError(err.message);
    });
  }

  function roleLabel(m) {
    switch (m.role) {
      case "customer": return "Customer";
      case "bot": return "Bot";
      case "agent": return m.author || "Agent";
      case "note": return m.author || "Agent";
      default: return "System";
    }
  }

  function messageItem(m) {
    var li = el("li", "msg " + m.role);
    li.dataset.seq = m.seq;
    var head = el("div", "msg-head");
    head.appendChild(el("span", "who", roleLabel(m)));
    if (m.private) head.appendChild(el("span", "private-badge", "private note"));
    head.appendChild(el("time", "muted", when(m.at)));
    li.appendChild(head);
    li.appendChild(el("div", "msg-text", m.text));
    if (m.choices && m.choices.length) {
      var ch = el("div", "muted small", "Offered: " + m.choices.map(function (c) { return c.label; }).join(" · "));
      li.appendChild(ch);
    }
    return li;
  }

  function renderView() {
    var v = state.view;
    $("empty-state").hidden = true;
    $("conv").hidden = false;
    $("context").hidden = false;
    var c = v.conversation;
    $("conv-title").textContent = customerName(v.customer);
    var meta = c.channel + " · " + c.state + (c.agent ? " · with " + c.agent.name : "") +
      (v.position ? " · #" + v.position + " in queue" : "") +
      (v.contact && v.contact.trigger ? " · " + triggerLabel(v.contact.trigger) : "");
    $("conv-meta").textContent = meta;

    var mine = c.state === "agent" && c.agent && c.agent.id === me.id;
    var canAct = mine || (isAdmin && c.state === "agent");
    $("claim").hidden = c.state !== "waiting";
    if (isAdmin) {
      $("assign").hidden = $("assign-to").hidden = c.state !== "waiting";
      renderAssignOptions();
    }
    $("transfer").hidden = $("transfer-to").hidden = !canAct;
    $("resolve").hidden = !(canAct || c.state === "waiting");
    $("send-reply").disabled = !canAct;
    $("send-reply").title = canAct ? "" : "Claim the conversation to reply";
    renderTransferOptions(c);

    var tr = $("transcript");
    tr.replaceChildren();
    v.messages.forEach(function (m) { tr.appendChild(messageItem(m)); });
    tr.scrollTop = tr.scrollHeight;

    var prof = $("profile");
    prof.replaceChildren();
    function row(k, val) { if (!val) return; prof.appendChild(el("dt", "", k)); prof.appendChild(el("dd", "", val)); }
    row("Name", v.customer.name);
    row("Email", v.customer.email ? v.customer.email + (v.customer.verified ? " (verified)" : " (not verified)") : "");
    row("Shop id", v.customer.external_id);
    row("Stage", v.customer.stage);
    row("Customer id", v.customer.id);
    row("Customer since", when(v.customer.created_at));

    var ids = $("identities");
    ids.replaceChildren();
    v.customer.identities.forEach(function (i) { ids.appendChild(el("li", "", identityLabel(i))); });
    if (v.customer.identities.length > 1) ids.appendChild(el("li", "muted small", "Linked: one customer, one journey on every channel."));

    var j = $("journey");
    j.replaceChildren();
    if (!v.customer.stage_history.length) j.appendChild(el("li", "muted", "Still at " + v.customer.stage + " (no moves yet)."));
    v.customer.stage_history.forEach(function (s) {
      var li = el("li");
      li.appendChild(el("strong", "", (s.from || "start") + " → " + s.to));
      li.appendChild(el("div", "muted small", when(s.at) + " · " + s.reason));
      j.appendChild(li);
    });

    var o = $("orders");
    o.replaceChildren();
    if (v.orders_status === "unavailable") o.appendChild(el("p", "muted small", "No order source is configured."));
    else if (v.orders_status === "error") o.appendChild(el("p", "error small", v.orders_error));
    else if (!v.orders.length) o.appendChild(el("p", "muted small", "No orders found."));
    else {
      var ul = el("ul", "orders");
      v.orders.forEach(function (ord) {
        var li = el("li");
        var title = el("strong", "", "#" + ord.number);
        if (ord.url && /^https?:\/\//.test(ord.url)) {
          var a = el("a", "", "#" + ord.number); a.href = ord.url; a.target = "_blank"; a.rel = "noopener noreferrer";
          title = a;
        }
        li.appendChild(title);
        li.appendChild(el("span", "chip", ord.status));
        li.appendChild(el("div", "muted small", [when(ord.placed_at), ord.total, (ord.items || []).join(", ")].filter(Boolean).join(" · ")));
        ul.appendChild(li);
      });
      o.appendChild(ul);
    }

    var cs = $("contacts");
    cs.replaceChildren();
    v.contacts.forEach(function (ct) {
      var li = el("li");
      li.appendChild(el("strong", "", ct.channel + " · " + ct.outcome));
      var bits = [when(ct.started_at), "stage " + ct.stage_at_start];
      if (ct.trigger) bits.push(triggerLabel(ct.trigger));
      if (ct.first_response_seconds != null) bits.push("first response " + duration(ct.first_response_seconds));
      if (ct.resolution_seconds != null) bits.push("resolved in " + duration(ct.resolution_seconds));
      li.appendChild(el("div", "muted small", bits.join(" · ")));
      cs.appendChild(li);
    });

    var ts = $("transitions");
    ts.replaceChildren();
    v.transitions.forEach(function (t) {
      var li = el("li");
      li.appendChild(el("strong", "", t.from + " → " + t.to));
      li.appendChild(el("div", "muted small", when(t.at) + " · " + t.by + " · " + t.reason + " · " + t.stage));
      ts.appendChild(li);
    });
  }

  // identityLabel describes where a customer is known: a web visitor, a
  // signed-in shop user, a Slack or Discord user.
  function identityLabel(i) {
    if (i.channel === "web" && i.id.indexOf("u:") === 0) return "web · shop user " + i.id.slice(2);
    if (i.channel === "web" && i.id.indexOf("v:") === 0) return "web · visitor " + i.id.slice(2, 10) + (i.id.length > 10 ? "…" : "");
    return i.channel + " · " + i.id;
  }

  function customerSummary(c) {
    return [customerName(c), c.email && c.email !== customerName(c) ? c.email + (c.verified ? " (verified)" : "") : "",
      c.identities.map(function (i) { return i.channel; }).join(", "), c.stage].filter(Boolean).join(" · ");
  }

  function renderAssignOptions() {
    var sel = $("assign-to");
    var keep = sel.value;
    sel.replaceChildren();
    state.agents.forEach(function (a) { sel.appendChild(new Option(a.name + (a.online ? " (online)" : ""), a.id)); });
    sel.value = keep;
    if (sel.selectedIndex < 0) sel.selectedIndex = 0;
  }

  function renderTransferOptions(c) {
    var sel = $("transfer-to");
    var keep = sel.value;
    sel.replaceChildren();
    sel.appendChild(new Option("Back to the queue", ""));
    state.agents.forEach(function (a) {
      if (c.agent && a.id === c.agent.id) return;
      sel.appendChild(new Option(a.name + (a.online ? " (online)" : ""), a.id));
    });
    sel.value = keep;
    if (sel.selectedIndex < 0) sel.selectedIndex = 0;
  }

  function appendMessage(convID, m) {
    if (!state.view || state.current !== convID) return;
    if (state.view.messages.some(function (x) { return x.id === m.id; })) return;
    state.view.messages.push(m);
    var tr = $("transcript");
    tr.appendChild(messageItem(m));
    tr.scrollTop = tr.scrollHeight;
  }

  // stillMine reports whether this agent may still see a conversation
  // after a state change (admins see everything).
  function stillMine(f) {
    if (isAdmin) return true;
    return f.to === "waiting" || (f.to === "agent" && f.agent_id === me.id);
  }

  function closeView(notice) {
    state.current = null;
    state.view = null;
    $("conv").hidden = true;
    $("context").hidden = true;
    $("empty-state").hidden = false;
    $("empty-state").querySelector("p").textContent = (notice ? notice + " " : "") + "Pick a conversation from the queue.";
    renderQueue();
  }

  // ---- Actions ----

  function claim(id) {
    showError("");
    return api("POST", "/api/conversations/" + encodeURIComponent(id) + "/claim").then(function () {
      return openConversation(id);
    }).catch(function (err) {
      // Typically "Already claimed by Alice.": show it, refresh the queue.
      showError(err.message);
      loadQueue();
    });
  }

  function act(path, body, after) {
    showError("");
    return api("POST", "/api/conversations/" + encodeURIComponent(state.current) + path, body).then(after).catch(function (err) { showError(err.message); });
  }

  $("claim").addEventListener("click", function () { claim(state.current); });
  if (isAdmin) {
    $("assign").addEventListener("click", function () {
      var to = $("assign-to").value;
      if (!to) { showError("There is no agent to assign it to."); return; }
      act("/assign", { agent_id: to }, function () { loadView(); });
    });
  }

  // ---- Linking customers ----

  $("link-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    showError("");
    var q = $("link-query").value.trim(), results = $("link-results");
    results.replaceChildren();
    if (!q || !state.view) return;
    var self = state.view.customer.id;
    api("GET", "/api/customers?q=" + encodeURIComponent(q)).then(function (res) {
      var found = res.customers.filter(function (c) { return c.id !== self; });
      if (!found.length) { results.appendChild(el("li", "muted small", "No other customer found.")); return; }
      found.forEach(function (c) {
        var li = el("li");
        li.appendChild(el("div", "", customerSummary(c)));
        li.appendChild(el("div", "muted small", c.identities.map(identityLabel).join("; ")));
        var b = el("button", "small-button link-button", "Link with this customer");
        b.type = "button";
        b.addEventListener("click", function () { linkWith(self, c); });
        li.appendChild(b);
        results.appendChild(li);
      });
    }).catch(function (err) { showError(err.message); });
  });

  function linkWith(self, other) {
    if (!confirm("Link " + customerSummary(other) + " with this customer? Their conversations and journeys become one. This cannot be undone.")) return;
    api("POST", "/api/customers/" + encodeURIComponent(self) + "/link", { customer_id: other.id }).then(function () {
      $("link-results").replaceChildren(el("li", "muted small", "Linked."));
      $("link-query").value = "";
      return loadView();
    }).catch(function (err) { showError(err.message); });
  }
  $("resolve").addEventListener("click", function () {
    if (!confirm("Resolve this conversation? The customer goes back to the bot.")) return;
    act("/resolve", undefined, function () { if (isAdmin) loadView(); else closeView("Resolved."); });
  });
  $("transfer").addEventListener("click", function () {
    var to = $("transfer-to").value;
    act("/transfer", { agent_id: to }, function () { if (isAdmin) loadView(); else closeView(to ? "Transferred." : "Back in the queue."); });
  });
  function send(kind) {
    var text = $("reply-text").value.trim();
    if (!text) { showError("Write something first."); return; }
    act(kind === "note" ? "/notes" : "/reply", { text: text }, function (res) {
      $("reply-text").value = "";
      if (res && res.message) appendMessage(state.current, res.message);
    });
  }
  $("send-reply").addEventListener("click", function () { send("reply"); });
  $("send-note").addEventListener("click", function () { send("note"); });
  $("reply-text").addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); send("reply"); }
  });

  // ---- Canned replies ----

  function loadCanned() {
    return api("GET", "/api/canned").then(function (res) {
      state.canned = res.canned;
      var sel = $("canned-insert");
      sel.replaceChildren(new Option("Insert canned reply…", ""));
      state.canned.forEach(function (c) { sel.appendChild(new Option(c.title, c.id)); });
      if (isAdmin) renderCannedAdmin();
    });
  }
  $("canned-insert").addEventListener("change", function (ev) {
    var c = state.canned.find(function (x) { return x.id === ev.target.value; });
    if (c) {
      var ta = $("reply-text");
      ta.value = ta.value ? ta.value.replace(/\s*$/, "") + "\n" + c.text : c.text;
      ta.focus();
    }
    ev.target.value = "";
  });

  function renderCannedAdmin() {
    var ul = $("canned-list");
    ul.replaceChildren();
    state.canned.forEach(function (c) {
      var li = el("li");
      li.appendChild(el("strong", "", c.title));
      li.appendChild(el("div", "muted small", c.text));
      var edit = el("button", "link", "Edit"); edit.type = "button";
      edit.addEventListener("click", function () { $("canned-id").value = c.id; $("canned-title").value = c.title; $("canned-text").value = c.text; });
      var del = el("button", "link danger", "Delete"); del.type = "button";
      del.addEventListener("click", function () {
        if (confirm("Delete canned reply \"" + c.title + "\"?")) api("DELETE", "/api/canned/" + encodeURIComponent(c.id)).then(loadCanned).catch(function (e) { alert(e.message); });
      });
      li.appendChild(edit); li.appendChild(del);
      ul.appendChild(li);
    });
  }
  if (isAdmin) {
    $("canned-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var id = $("canned-id").value, body = { title: $("canned-title").value, text: $("canned-text").value };
      var p = id ? api("PUT", "/api/canned/" + encodeURIComponent(id), body) : api("POST", "/api/canned", body);
      p.then(function () { $("canned-form").reset(); $("canned-id").value = ""; return loadCanned(); }).catch(function (e) { alert(e.message); });
    });
    $("canned-cancel").addEventListener("click", function () { $("canned-form").reset(); $("canned-id").value = ""; });
  }

  function loadAgents() {
    return api("GET", "/api/agents").then(function (res) {
      state.agents = res.agents;
      if (state.view) renderTransferOptions(state.view.conversation);
      if (isAdmin) renderAssignOptions();
    });
  }

  // ---- Live updates ----

  var backoff = 500;
  function connect() {
    var ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/agent/ws");
    ws.onopen = function () {
      backoff = 500;
      $("live").textContent = "live"; $("live").className = "badge ok";
      loadView();
    };
    ws.onmessage = function (ev) {
      var f;
      try { f = JSON.parse(ev.data); } catch (e) { return; }
      switch (f.type) {
        case "queue": state.queue = f.queue; renderQueue(); break;
        case "message": appendMessage(f.conversation_id, f.message); break;
        case "state":
          if (f.conversation_id === state.current) {
            if (stillMine(f)) loadView();
            else closeView(f.to === "resolved" ? "The conversation was resolved." : "The conversation is no longer yours.");
          }
          loadAgents();
          break;
        case "canned": loadCanned(); break;
        case "refresh": loadQueue(); loadView(); break;
      }
    };
    ws.onclose = function (ev) {
      $("live").textContent = "reconnecting…"; $("live").className = "badge off";
      if (ev.code === 1008) { location.href = "/agent/login"; return; } // signed out
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 15000);
    };
  }

  loadQueue().catch(function (e) { showError(e.message); });
  loadAgents();
  loadCanned();
  connect();
})();
