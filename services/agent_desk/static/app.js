/* 人工坐席台 console: plain JS, no dependencies. All text is inserted with textContent. */
(function () {
  "use strict";

  var STATUS_LABEL = { waiting: "等待中", active: "处理中", closed: "已结束" };
  var CHANNEL_LABEL = { app: "手机银行", wechat: "微信", rest: "网页" };
  var SEGMENT_LABEL = { mass: "普通客户", gold: "金卡客户", platinum: "白金客户", private: "私人银行", vip: "贵宾客户" };
  var ROLE_LABEL = { customer: "客户", bot: "机器人", agent: "坐席" };
  var DELIVERY_LABEL = { pending: "发送中", delivered: "已送达", failed: "发送失败" };

  var state = {
    token: sessionStorage.getItem("desk_token"),
    agent: JSON.parse(sessionStorage.getItem("desk_agent") || "null"),
    status: "waiting", items: [], fetchedAt: 0, selected: null, detail: null,
    canned: [], queues: [], ws: null, wsRetry: 0, reloadTimer: null, editingSuggestion: null
  };

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function fmtWait(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var m = Math.floor(seconds / 60), s = seconds % 60;
    return m >= 60 ? Math.floor(m / 60) + "小时" + (m % 60) + "分" : m + "分" + (s < 10 ? "0" : "") + s + "秒";
  }
  function fmtTime(iso) {
    var d = new Date(iso);
    return isNaN(d) ? "" : d.toLocaleTimeString("zh-CN", { hour12: false });
  }

  function api(path, options) {
    options = options || {};
    var headers = { "Authorization": "Bearer " + state.token };
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(path, { method: options.method || "GET", headers: headers,
                         body: options.body !== undefined ? JSON.stringify(options.body) : undefined })
      .then(function (r) {
        if (r.status === 401) { logout(); throw new Error("登录已失效，请重新登录"); }
        return r.json().then(function (data) {
          if (!r.ok) throw new Error((data.error && data.error.message) || ("请求失败 " + r.status));
          return data;
        });
      });
  }

  // -- login ---------------------------------------------------------------------------
  $("login-form").addEventListener("submit", function (e) {
    e.preventDefault();
    $("login-error").textContent = "";
    fetch("/api/auth/login", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: $("login-username").value, password: $("login-password").value }) })
      .then(function (r) { return r.json().then(function (d) { if (!r.ok) throw new Error(d.error.message); return d; }); })
      .then(function (data) {
        state.token = data.access_token; state.agent = data.agent;
        sessionStorage.setItem("desk_token", state.token);
        sessionStorage.setItem("desk_agent", JSON.stringify(state.agent));
        $("login-password").value = "";
        start();
      })
      .catch(function (err) { $("login-error").textContent = err.message || "登录失败"; });
  });

  function logout() {
    if (state.token) fetch("/api/auth/logout", { method: "POST", headers: { "Authorization": "Bearer " + state.token } });
    sessionStorage.removeItem("desk_token"); sessionStorage.removeItem("desk_agent");
    state.token = null; state.agent = null; state.selected = null;
    if (state.ws) { state.ws.onclose = null; state.ws.close(); state.ws = null; }
    $("desk-view").hidden = true; $("login-view").hidden = false;
  }
  $("logout").addEventListener("click", logout);

  // -- start -----------------------------------------------------------------------------
  function start() {
    $("login-view").hidden = true; $("desk-view").hidden = false;
    $("agent-name").textContent = state.agent.display_name + (state.agent.role === "supervisor" ? "（班长）" : "");
    $("btn-report").hidden = state.agent.role !== "supervisor";
    api("/api/canned-responses").then(function (list) { state.canned = list; renderCanned(); });
    api("/api/queues").then(function (list) { state.queues = list; renderQueues(); renderServedQueues(); });
    loadList(); connectLive();
  }

  // Which queues' waiting customers this agent picks up (the server filters the list the same way).
  function renderServedQueues() {
    var served = state.queues.filter(function (q) { return q.served; }).map(function (q) { return q.label; });
    $("agent-queues").textContent = state.agent.role === "supervisor" ? "全部队列"
      : (served.length ? "负责队列：" + served.join("、") : "尚未分配队列，请联系班长");
  }

  // -- queue list -----------------------------------------------------------------------
  Array.prototype.forEach.call(document.querySelectorAll(".tab"), function (tab) {
    tab.addEventListener("click", function () {
      state.status = tab.getAttribute("data-status");
      Array.prototype.forEach.call(document.querySelectorAll(".tab"), function (t) { t.classList.toggle("active", t === tab); });
      loadList();
    });
  });

  function loadList() {
    // Requests can overlap (a live update, then a tab click): only the newest one may
    // draw, or a late answer for the old tab would replace the list the agent asked for.
    var status = state.status, request = (state.listRequest || 0) + 1;
    state.listRequest = request;
    return api("/api/handoffs?status=" + status).then(function (items) {
      if (status === "waiting") $("count-waiting").textContent = items.length;
      if (request !== state.listRequest || status !== state.status) return;
      state.items = items; state.fetchedAt = Date.now();
      renderList();
    }).catch(showError);
  }
  function scheduleReload() {
    clearTimeout(state.reloadTimer);
    state.reloadTimer = setTimeout(function () {
      loadList();
      if (state.status !== "waiting") api("/api/handoffs?status=waiting").then(function (w) { $("count-waiting").textContent = w.length; });
    }, 100);
  }

  function renderList() {
    var list = $("handoff-list");
    list.textContent = "";
    $("list-empty").hidden = state.items.length > 0;
    state.items.forEach(function (h) {
      var li = el("li"); li.setAttribute("data-id", h.id); li.setAttribute("data-testid", "handoff-item");
      if (h.id === state.selected) li.classList.add("selected");
      var top = el("div", "row");
      var name = el("strong", null, customerName(h.customer));
      top.appendChild(name);
      if (h.status === "waiting") {
        var wait = el("span", "wait"); wait.setAttribute("data-waiting", h.waiting_seconds);
        top.appendChild(wait);
      } else {
        top.appendChild(el("span", "muted", h.claimed_by || ""));
      }
      li.appendChild(top);
      var mid = el("div", "row");
      mid.appendChild(el("span", "reason", h.reason || "—"));
      if (h.priority > 0) mid.appendChild(el("span", "prio", "优先" + h.priority));
      li.appendChild(mid);
      var meta = (h.queue_position ? "第 " + h.queue_position + " 位 · " : "") + queueLabel(h.queue) + " · " + (CHANNEL_LABEL[h.channel] || h.channel);
      li.appendChild(el("div", "muted", meta));
      li.addEventListener("click", function () { select(h.id); });
      list.appendChild(li);
    });
    tickWaits();
  }
  function tickWaits() {
    var elapsed = (Date.now() - state.fetchedAt) / 1000;
    Array.prototype.forEach.call(document.querySelectorAll(".wait[data-waiting]"), function (node) {
      node.textContent = "已等待 " + fmtWait(Number(node.getAttribute("data-waiting")) + elapsed);
    });
  }
  setInterval(tickWaits, 1000);

  function queueLabel(name) {
    for (var i = 0; i < state.queues.length; i++) if (state.queues[i].name === name) return state.queues[i].label;
    return name;
  }
  function renderQueues() {
    var select = $("transfer-queue"); select.textContent = "";
    state.queues.forEach(function (q) { var o = el("option", null, q.label); o.value = q.name; select.appendChild(o); });
  }
  function renderCanned() {
    var box = $("canned"); box.textContent = "";
    state.canned.forEach(function (c) {
      var b = el("button", null, c.title); b.type = "button"; b.title = c.text;
      b.setAttribute("data-canned", c.id);
      b.addEventListener("click", function () { state.editingSuggestion = null; $("reply-text").value = c.text; $("reply-text").focus(); });
      box.appendChild(b);
    });
  }

  // -- one conversation ---------------------------------------------------------------------
  function select(id) {
    state.selected = id;
    Array.prototype.forEach.call(document.querySelectorAll("#handoff-list li"), function (li) {
      li.classList.toggle("selected", li.getAttribute("data-id") === id);
    });
    $("action-error").textContent = "";
    $("ctx-customer").textContent = ""; $("ctx-customer-state").textContent = "";
    return loadDetail().then(function () { if (state.selected === id) loadCustomerPanel(); });
  }

  // -- the customer panel: core banking's read-only view of this handoff's customer ----------
  // Loaded when the agent opens the handoff (and on 刷新), not on every live event: each read is audited.
  function yuan(v) { return v === null || v === undefined ? "—" : Number(v).toLocaleString("zh-CN", { maximumFractionDigits: 2 }) + " 元"; }
  function loadCustomerPanel() {
    var id = state.selected, box = $("ctx-customer"), note = $("ctx-customer-state");
    box.textContent = ""; note.textContent = "查询中…";
    return api("/api/handoffs/" + id + "/customer").then(function (p) {
      if (state.selected !== id) return;
      note.textContent = p.anonymous ? "客户未登录：只有对话内容，没有客户资料" : "";
      if (!p.anonymous) renderCustomerPanel(p.overview);
    }).catch(function (err) { if (state.selected === id) note.textContent = err.message || String(err); });
  }
  function panelSection(title, rows) {
    var box = $("ctx-customer");
    box.appendChild(el("h4", null, title));
    var ul = el("ul", "panel-list");
    rows.forEach(function (r) { ul.appendChild(el("li", null, r)); });
    if (!rows.length) ul.appendChild(el("li", "muted", "无"));
    box.appendChild(ul);
  }
  function renderCustomerPanel(o) {
    panelSection("客户", [o.customer.name_masked + " · " + o.customer.customer_type + " · " + o.customer.profile]);
    panelSection("账户", o.accounts.map(function (a) {
      return a.account_type + " " + a.masked_account_number + "：余额 " + yuan(a.balance) + "，可用 " + yuan(a.available_balance);
    }));
    panelSection("今日转账额度", o.transfer_limits.map(function (l) {
      return (CHANNEL_LABEL[l.channel] || l.channel) + "：每天 " + yuan(l.daily_limit) + "，已转 " + yuan(l.used_today) + "，还能转 " + yuan(l.remaining_today);
    }));
    panelSection("最近转账", o.recent_transfers.map(function (t) {
      return fmtTime(t.created_at) + " 转给 " + t.payee_name + " " + yuan(t.amount) + "：" + t.status
        + (t.expected_arrival && !t.arrived_at ? "（" + t.expected_arrival + "）" : "");
    }));
    panelSection("贷款", o.loans.map(function (l) { return l.product_name + " " + yuan(l.amount) + "：" + l.status; }));
    panelSection("未结投诉", o.open_complaints.map(function (c) { return c.ticket_id + " " + c.category + "：" + c.status; }));
  }
  function loadDetail() {
    if (!state.selected) return Promise.resolve();
    var id = state.selected;
    return api("/api/handoffs/" + id).then(function (d) { if (state.selected === id) { state.detail = d; renderDetail(); } })
      .catch(showError);
  }

  // A customer who is not logged in has no name at the desk: the server sends none.
  function customerName(c) { return c.display_name || (c.id ? "—" : "未登录客户"); }

  function renderDetail() {
    var d = state.detail, mine = d.claimed_by === state.agent.username;
    var canAct = d.status === "active" && (mine || state.agent.role === "supervisor");
    $("no-selection").hidden = true; $("conversation").hidden = false; $("context-panel").hidden = false;
    $("conv-title").textContent = customerName(d.customer) + " · " + STATUS_LABEL[d.status];
    var meta = queueLabel(d.queue) + " · " + (CHANNEL_LABEL[d.channel] || d.channel) + " · 会话 " + d.conversation_id;
    if (d.status === "waiting") meta += " · 排队第 " + d.queue_position + " 位，预计 " + Math.ceil((d.estimated_wait_seconds || 0) / 60) + " 分钟";
    if (d.claimed_by) meta += " · 处理坐席 " + d.claimed_by;
    if (!d.within_service_hours) meta += " · 非服务时间留言";
    $("conv-meta").textContent = meta;

    $("btn-claim").hidden = d.status !== "waiting";
    $("btn-transfer").hidden = $("transfer-queue").hidden = d.status === "closed" || (d.status === "active" && !canAct);
    $("reply-box").hidden = !canAct;
    renderSuggestions(d, canAct);
    $("close-box").hidden = d.status === "closed" || (d.status === "active" && !canAct);
    // "接着办刚才的业务" only when the customer left a form for the person (slot paused_form)
    var paused = (d.collected || []).filter(function (c) { return c.name === "paused_form"; })[0];
    $("close-then-form").hidden = $("close-then-form").disabled = !paused;
    $("close-then-form").textContent = paused ? "接着办「" + paused.value + "」" : "接着办刚才的业务";
    if (!paused && $("close-then").value === "continue_form") $("close-then").value = "rating";

    var list = $("transcript"); list.textContent = "";
    d.transcript.forEach(function (m) {
      var li = el("li", "msg " + m.role); li.setAttribute("data-role", m.role);
      var who = el("div", "who", (m.role === "agent" && m.agent ? "坐席 " + m.agent : ROLE_LABEL[m.role] || m.role) + " " + fmtTime(m.ts));
      if (m.delivery) {
        var ds = el("span", "delivery " + m.delivery.status, DELIVERY_LABEL[m.delivery.status] || m.delivery.status);
        ds.setAttribute("data-delivery", m.delivery.status);
        who.appendChild(ds);
        if (m.delivery.status === "failed") {
          var retry = el("button", "link", "重发"); retry.type = "button";
          retry.addEventListener("click", function () {
            api("/api/handoffs/" + d.id + "/deliveries/" + m.delivery.id + "/retry", { method: "POST", body: {} }).then(loadDetail).catch(showError);
          });
          who.appendChild(retry);
        }
      }
      li.appendChild(who);
      li.appendChild(el("div", "text", m.text));
      list.appendChild(li);
    });
    list.scrollTop = list.scrollHeight;

    $("ctx-reason").textContent = d.reason || "—";
    $("ctx-name").textContent = customerName(d.customer);
    $("ctx-id").textContent = d.customer.id || "未登录";
    $("ctx-segment").textContent = SEGMENT_LABEL[d.customer.segment] || d.customer.segment || "—";
    $("ctx-channel").textContent = CHANNEL_LABEL[d.channel] || d.channel;
    $("ctx-summary").textContent = d.summary || "—";
    var nlu = $("ctx-nlu"); nlu.textContent = "";
    d.nlu.forEach(function (n) {
      var li = el("li");
      var intent = el("span", null, n.intent_label || n.intent || "未识别"); intent.title = n.intent;
      var row = el("div", "row"); row.appendChild(intent);
      row.appendChild(el("span", "muted", Math.round(n.confidence * 100) + "%")); li.appendChild(row);
      var bar = el("div", "bar" + (n.confidence < 0.5 ? " low" : "")); var fill = el("span");
      fill.style.width = Math.round(n.confidence * 100) + "%"; bar.appendChild(fill); li.appendChild(bar);
      li.appendChild(el("div", "text", "“" + n.text + "”"));
      nlu.appendChild(li);
    });
    if (!d.nlu.length) nlu.appendChild(el("li", "muted", "—"));
    var slots = $("ctx-slots"); slots.textContent = "";
    (d.collected || []).forEach(function (c) {  // labels and values from data/knowledge/context_labels.yml
      var dt = el("dt", null, c.label); dt.title = c.name;
      slots.appendChild(dt);
      slots.appendChild(el("dd", null, c.value));
    });
    if (!slots.childNodes.length) slots.appendChild(el("dd", "muted", "—"));
    $("ctx-resolution").textContent = d.resolution || "—";
    $("ctx-rating").textContent = d.rating ? d.rating + " 分" : "—";
  }

  function act(path, body) {
    $("action-error").textContent = "";
    return api("/api/handoffs/" + state.selected + path, { method: "POST", body: body || {} })
      .then(function () { scheduleReload(); return loadDetail(); })
      .catch(showError);
  }
  function showError(err) { $("action-error").textContent = err.message || String(err); }

  $("btn-claim").addEventListener("click", function () { act("/claim"); });
  $("btn-transfer").addEventListener("click", function () { act("/transfer", { queue: $("transfer-queue").value }); });
  $("close-disposition").addEventListener("change", function () {
    $("close-due-box").hidden = $("close-disposition").value !== "follow_up";
  });
  $("btn-close").addEventListener("click", function () {
    var disposition = $("close-disposition").value, due = $("close-due").value;
    if (!disposition) { showError({ message: "请先选择处理结果类型" }); return; }
    if (disposition === "follow_up" && !due) { showError({ message: "需要跟进的会话请填写跟进时间" }); return; }
    var body = { resolution: $("close-resolution").value, back_to_bot: true, then: $("close-then").value,
                 disposition: disposition };
    if (disposition === "follow_up") { body.follow_up_due = new Date(due).toISOString(); }
    act("/close", body).then(function () {
      $("close-resolution").value = ""; $("close-disposition").value = ""; $("close-due").value = "";
      $("close-due-box").hidden = true;
    });
  });

  // -- report and follow-ups (supervisors) ------------------------------------------------
  var DISPOSITION_LABEL = { solved: "已解决", follow_up: "需要跟进", complaint_registered: "已登记投诉",
                            transferred: "已转其他部门", unknown: "未填写" };
  $("btn-report").addEventListener("click", function () { $("report-view").hidden = false; loadReport(); });
  $("btn-report-close").addEventListener("click", function () { $("report-view").hidden = true; });

  function minutes(seconds) { return seconds === null || seconds === undefined ? "—" : (seconds / 60).toFixed(1) + " 分钟"; }

  function loadReport() {
    api("/api/report?days=7").then(renderReport).catch(showError);
    api("/api/tasks").then(renderTasks).catch(showError);
  }

  function renderReport(r) {
    var body = $("report-table").querySelector("tbody"); body.textContent = "";
    r.queues.forEach(function (q) {
      var tr = el("tr"); tr.setAttribute("data-queue", q.queue);
      var kinds = Object.keys(q.dispositions).map(function (k) { return (DISPOSITION_LABEL[k] || k) + " " + q.dispositions[k]; });
      [q.label, String(q.handled), minutes(q.median_wait_seconds), minutes(q.median_handling_seconds),
       q.csat === null ? "—" : q.csat.toFixed(1) + " 分（" + q.rated + " 人评价）",
       q.suggestion_use_rate === null ? "—" : Math.round(q.suggestion_use_rate * 100) + "%",
       kinds.join("、") || "—"].forEach(function (text) { tr.appendChild(el("td", null, text)); });
      body.appendChild(tr);
    });
    $("report-follow-ups").textContent = r.open_follow_ups;
    drawChart(r.queues);
  }

  // Handled per queue as bars, CSAT (1-5) as a dot above each bar: plain SVG, no chart library.
  function drawChart(queues) {
    var svg = $("report-chart"), ns = "http://www.w3.org/2000/svg", w = 640, h = 200, pad = 28;
    svg.setAttribute("viewBox", "0 0 " + w + " " + h); svg.textContent = "";
    var most = Math.max(1, Math.max.apply(null, queues.map(function (q) { return q.handled; })));
    var slot = (w - pad) / Math.max(1, queues.length);
    queues.forEach(function (q, i) {
      var x = pad + i * slot + slot * 0.2, bw = slot * 0.6, bh = (h - 2 * pad) * q.handled / most;
      var bar = document.createElementNS(ns, "rect");
      bar.setAttribute("x", x); bar.setAttribute("y", h - pad - bh); bar.setAttribute("width", bw);
      bar.setAttribute("height", bh); bar.setAttribute("class", "bar"); bar.setAttribute("data-queue", q.queue);
      svg.appendChild(bar);
      var label = document.createElementNS(ns, "text");
      label.setAttribute("x", x + bw / 2); label.setAttribute("y", h - 8); label.setAttribute("text-anchor", "middle");
      label.textContent = q.label + " " + q.handled; svg.appendChild(label);
      if (q.csat !== null) {
        var dot = document.createElementNS(ns, "circle");
        dot.setAttribute("cx", x + bw / 2); dot.setAttribute("cy", pad + (h - 2 * pad) * (5 - q.csat) / 4);
        dot.setAttribute("r", 5); dot.setAttribute("class", "csat"); svg.appendChild(dot);
      }
    });
  }

  function renderTasks(tasks) {
    var list = $("task-list"); list.textContent = "";
    tasks.forEach(function (t) {
      var li = el("li", t.overdue ? "overdue" : null); li.setAttribute("data-task", t.id);
      li.appendChild(el("div", "row", queueLabel(t.queue) + " · 到期 " + new Date(t.due_at).toLocaleString("zh-CN")
        + (t.overdue ? "（已逾期）" : "") + " · " + t.created_by));
      if (t.note) li.appendChild(el("div", "reason", t.note));
      var done = el("button", "link", "完成"); done.type = "button";
      done.addEventListener("click", function () {
        api("/api/tasks/" + t.id + "/done", { method: "POST", body: {} }).then(loadReport).catch(showError);
      });
      li.appendChild(done);
      list.appendChild(li);
    });
    if (!tasks.length) list.appendChild(el("li", "muted", "暂无待跟进"));
  }
  function send() {
    var text = $("reply-text").value.trim();
    if (!text) return;
    var body = { text: text };
    if (state.editingSuggestion) body.suggestion_id = state.editingSuggestion;  // an edited suggestion
    $("btn-send").disabled = true;
    // Cleared only if unchanged: the agent may already be typing the next reply.
    act("/messages", body).then(function () {
      if ($("reply-text").value.trim() === text) { $("reply-text").value = ""; state.editingSuggestion = null; }
    }).finally(function () { $("btn-send").disabled = false; });
  }

  // Suggested replies: the bot's answers to the customer's newest message, for the agent to
  // send as they are, edit first, or ignore (the desk records which, for the report).
  function renderSuggestions(d, canAct) {
    var list = $("suggestions"); list.textContent = "";
    var shown = canAct ? (d.suggestions || []) : [];
    $("suggestions-box").hidden = !shown.length;
    if (!shown.some(function (s) { return s.id === state.editingSuggestion; })) state.editingSuggestion = null;
    shown.forEach(function (s) {
      var li = el("li", "suggestion" + (s.id === state.editingSuggestion ? " editing" : ""));
      li.setAttribute("data-suggestion", s.id); li.setAttribute("data-intent", s.intent);
      var head = el("div", "row");
      var intent = el("span", null, s.intent_label || s.intent); intent.title = s.intent;
      head.appendChild(intent); head.appendChild(el("span", "muted", "置信度 " + Math.round(s.confidence * 100) + "%"));
      li.appendChild(head);
      li.appendChild(el("div", "text", s.text));
      var buttons = el("div", "buttons");
      var use = el("button", "use", "发送"); use.type = "button";
      use.addEventListener("click", function () {
        use.disabled = true;
        act("/messages", { text: s.text, suggestion_id: s.id }).finally(function () { use.disabled = false; });
      });
      var edit = el("button", "secondary edit", "编辑后发送"); edit.type = "button";
      edit.addEventListener("click", function () {
        state.editingSuggestion = s.id; $("reply-text").value = s.text; $("reply-text").focus();
        Array.prototype.forEach.call(list.children, function (n) { n.classList.toggle("editing", n === li); });
      });
      buttons.appendChild(use); buttons.appendChild(edit); li.appendChild(buttons);
      list.appendChild(li);
    });
  }
  $("btn-send").addEventListener("click", send);
  $("ctx-customer-refresh").addEventListener("click", function () { if (state.selected) loadCustomerPanel(); });
  $("reply-text").addEventListener("keydown", function (e) { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) send(); });

  // -- live updates -----------------------------------------------------------------------
  function connectLive() {
    var proto = location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(proto + location.host + "/api/live");
    state.ws = ws;
    ws.onopen = function () { ws.send(JSON.stringify({ type: "auth", token: state.token })); };
    ws.onmessage = function (e) {
      var ev = JSON.parse(e.data);
      if (ev.type === "ready") { state.wsRetry = 0; setLive(true); scheduleReload(); loadDetail(); return; }
      if (ev.type === "pong") return;
      if (ev.type === "resync") { scheduleReload(); loadDetail(); return; }
      if (["handoff_created", "claimed", "closed", "transferred"].indexOf(ev.type) >= 0) scheduleReload();
      if (ev.handoff_id && ev.handoff_id === state.selected) loadDetail();
    };
    ws.onclose = function (e) {
      setLive(false);
      if (e.code === 4401) { logout(); return; }
      state.wsRetry = Math.min(state.wsRetry + 1, 6);
      setTimeout(function () { if (state.token) connectLive(); }, 500 * Math.pow(2, state.wsRetry - 1));
    };
  }
  setInterval(function () { if (state.ws && state.ws.readyState === 1) state.ws.send(JSON.stringify({ type: "ping" })); }, 20000);
  function setLive(on) {
    var b = $("live-status"); b.textContent = on ? "实时在线" : "未连接";
    b.classList.toggle("online", on); b.classList.toggle("offline", !on);
  }

  if (state.token && state.agent) start(); else $("login-view").hidden = false;
})();
