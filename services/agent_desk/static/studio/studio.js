// 内容工作室 shell: login, tabs, the API helper and error display shared by the tab modules.
// Each tab is a module exporting init(section, ctx) (called once) and optionally show() (each
// time the tab opens). All text is inserted with textContent. docs/content-studio.md.
import * as inbox from "./inbox.js";
import * as annotate from "./annotate.js";
import * as answers from "./answers.js";
import * as training from "./training.js";
import * as history from "./history.js";

const TABS = { inbox, annotate, answers, training, history };
const STUDIO_ROLES = ["content", "supervisor"];
const state = { token: sessionStorage.getItem("studio_token"),
                user: JSON.parse(sessionStorage.getItem("studio_user") || "null"), current: null };

export function $(id) { return document.getElementById(id); }

export function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

export class StudioError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || ("请求失败 " + status));
    this.status = status;
    this.code = error.code || "";
    this.file = error.file || null;
    this.line = error.line || null;
    this.diff = error.diff || null;
    this.currentVersion = error.current_version || null;
  }
}

// api("/api/studio/...", {method, body}) → the JSON answer; throws StudioError (status, code, file,
// line, diff) on an error answer. A 401 signs out.
export async function api(path, options = {}) {
  const headers = { "Authorization": "Bearer " + state.token };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method: options.method || "GET", headers,
    body: options.body !== undefined ? JSON.stringify(options.body) : undefined });
  if (response.status === 401) { signOut(); throw new StudioError(401, { error: { message: "登录已失效，请重新登录" } }); }
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) throw new StudioError(response.status, data);
  return data;
}

// Renders an error into `target` (default: the page's error line): the message, and for an edit
// conflict the other editor's changes as a diff.
export function showError(error, target) {
  const box = target || $("studio-error");
  box.textContent = "";
  if (!error) return;
  box.appendChild(el("div", "", error.message || String(error)));
  if (error.diff) {
    box.appendChild(el("div", "muted", "对方的修改（请在最新内容上重新编辑）："));
    box.appendChild(diffView(error.diff));
  }
}

export function diffView(text) {
  const pre = el("pre", "diff");
  for (const line of text.split("\n")) {
    const cls = line.startsWith("+") && !line.startsWith("+++") ? "add"
      : line.startsWith("-") && !line.startsWith("---") ? "del" : "";
    pre.appendChild(el("span", cls, line + "\n"));
  }
  return pre;
}

// What the tab modules can ask of each other, e.g. the inbox opens the annotate tab with messages.
const ctx = {
  api, showError, el, $,
  user: () => state.user,
  open(tab, payload) { openTab(tab, payload); },
};

function openTab(name, payload) {
  showError(null);
  for (const button of document.querySelectorAll(".studio-tabs .tab")) {
    button.classList.toggle("active", button.dataset.tab === name);
  }
  for (const key of Object.keys(TABS)) $("tab-" + key).hidden = key !== name;
  state.current = name;
  const tab = TABS[name];
  if (tab.show) Promise.resolve(tab.show(payload)).catch((e) => showError(e));
}

function signOut() {
  sessionStorage.removeItem("studio_token");
  sessionStorage.removeItem("studio_user");
  state.token = null; state.user = null;
  $("studio-view").hidden = true;
  $("login-view").hidden = false;
}

async function start() {
  $("login-view").hidden = true;
  $("studio-view").hidden = false;
  $("user-name").textContent = state.user.display_name;
  $("to-console").hidden = state.user.role !== "supervisor";
  try {
    const found = await api("/api/studio/history?limit=1");
    $("studio-branch").textContent = "分支 " + found.branch;
  } catch (e) { showError(e); }
  for (const [name, tab] of Object.entries(TABS)) tab.init($("tab-" + name), ctx);
  openTab("inbox");
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("login-error").textContent = "";
  const response = await fetch("/api/auth/login", { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username: $("login-username").value, password: $("login-password").value }) });
  const data = await response.json();
  if (!response.ok) { $("login-error").textContent = data.error.message; return; }
  if (!STUDIO_ROLES.includes(data.agent.role)) { $("login-error").textContent = "此账号不能使用内容工作室"; return; }
  state.token = data.access_token; state.user = data.agent;
  sessionStorage.setItem("studio_token", state.token);
  sessionStorage.setItem("studio_user", JSON.stringify(state.user));
  start();
});
$("logout").addEventListener("click", signOut);
for (const button of document.querySelectorAll(".studio-tabs .tab")) {
  button.addEventListener("click", () => openTab(button.dataset.tab));
}
if (state.token && state.user) start(); else signOut();
