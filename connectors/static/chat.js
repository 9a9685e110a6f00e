// Demo chat page of the app channel: plain fetch to /webhooks/app/webhook, polling
// /webhooks/app/messages for pushed messages (agent replies). Same origin as Rasa.
(function () {
  "use strict";
  var base = location.pathname.replace(/\/chat\/?$/, "");   // .../webhooks/app
  var token = sessionStorage.getItem("csbot.app.token");
  var customer = sessionStorage.getItem("csbot.app.customer");
  var pollTimer = null;
  var $ = function (id) { return document.getElementById(id); };

  function setLarge(on) {
    document.body.classList.toggle("large", on);
    $("large-text").setAttribute("aria-pressed", on ? "true" : "false");
    localStorage.setItem("csbot.app.large", on ? "1" : "0");
  }
  setLarge(localStorage.getItem("csbot.app.large") === "1");
  $("large-text").addEventListener("click", function () { setLarge(!document.body.classList.contains("large")); });

  function show(loggedIn) {
    $("login-view").hidden = loggedIn;
    $("chat-view").hidden = !loggedIn;
    $("logout").hidden = !loggedIn;
    $("who").textContent = loggedIn ? customer : "";
    if (pollTimer) { clearInterval(pollTimer); pollTimer = null; }
    if (loggedIn) { pollTimer = setInterval(poll, 2000); $("message").focus(); }
  }

  function logout(reason) {
    token = null; customer = null;
    sessionStorage.removeItem("csbot.app.token"); sessionStorage.removeItem("csbot.app.customer");
    $("messages").innerHTML = "";
    $("login-error").textContent = reason || "";
    show(false);
  }

  function addBubble(kind, text) {
    var li = document.createElement("li");
    li.className = "bubble " + kind;
    if (text) { li.textContent = text; }
    $("messages").appendChild(li);
    li.scrollIntoView({ block: "end" });
    return li;
  }

  function renderBot(message, pushed) {
    var li = addBubble("bot" + (pushed ? " pushed" : ""), message.text || "");
    if (message.image) {
      var img = document.createElement("img"); img.src = message.image; img.alt = "图片"; li.appendChild(img);
    }
    var buttons = message.buttons || (message.quick_replies || []).map(function (q) {
      return { title: q.title, payload: q.payload };
    });
    if (buttons.length) {
      var box = document.createElement("div"); box.className = "choices";
      buttons.forEach(function (b) {
        var btn = document.createElement("button");
        btn.type = "button"; btn.className = "choice"; btn.textContent = b.title;
        btn.addEventListener("click", function () {
          box.querySelectorAll("button").forEach(function (x) { x.disabled = true; });
          send(b.payload || b.title, b.title);
        });
        box.appendChild(btn);
      });
      li.appendChild(box);
    }
    li.scrollIntoView({ block: "end" });
  }

  function api(path, options) {
    options = options || {};
    options.headers = Object.assign({ "Content-Type": "application/json" }, options.headers || {});
    if (token) { options.headers.Authorization = "Bearer " + token; }
    return fetch(base + path, options).then(function (resp) {
      if (resp.status === 401 && token) { logout("登录已过期，请重新登录"); throw new Error("unauthorized"); }
      return resp.json().then(function (body) { return { status: resp.status, body: body }; });
    });
  }

  function send(text, shown) {
    text = (text || "").trim();
    if (!text) { return; }
    addBubble("user", shown || text);
    $("send").disabled = true;
    api("/webhook", { method: "POST", body: JSON.stringify({ message: text }) }).then(function (r) {
      if (r.status !== 200) { addBubble("system", (r.body && r.body.message) || "发送失败，请稍后再试"); return; }
      if (!r.body.length) { addBubble("system", "（客服正在处理，请稍候）"); }
      r.body.forEach(function (m) { renderBot(m, false); });
    }).catch(function (e) {
      if (e.message !== "unauthorized") { addBubble("system", "网络异常，请稍后再试"); }
    }).then(function () { $("send").disabled = false; });
  }

  function poll() {
    if (!token) { return; }
    api("/messages").then(function (r) {
      if (r.status === 200) { (r.body.messages || []).forEach(function (m) { renderBot(m, true); }); }
    }).catch(function () {});
  }

  $("login").addEventListener("click", function () {
    $("login-error").textContent = "";
    $("login").disabled = true;
    var username = $("customer").value;
    fetch(base + "/login", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: username, password: $("password").value })
    }).then(function (resp) { return resp.json().then(function (b) { return { status: resp.status, body: b }; }); })
      .then(function (r) {
        if (r.status !== 200) { $("login-error").textContent = (r.body && r.body.message) || "登录失败"; return; }
        token = r.body.access_token; customer = r.body.customer_id || username;
        sessionStorage.setItem("csbot.app.token", token); sessionStorage.setItem("csbot.app.customer", customer);
        show(true);
        addBubble("system", "您好，我是智能客服，请问有什么可以帮您？");
      })
      .catch(function () { $("login-error").textContent = "网络异常，请稍后再试"; })
      .then(function () { $("login").disabled = false; });
  });

  $("logout").addEventListener("click", function () { logout(""); });
  $("composer").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var text = $("message").value; $("message").value = "";
    send(text);
  });

  show(!!token);
})();
