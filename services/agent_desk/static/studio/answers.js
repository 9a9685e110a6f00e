// 回答: domain.yml 的回答和 data/knowledge 的知识表，用表单修改；旁边是 App 和微信里的样子。
// API: /api/studio/answers (services/agent_desk/api/routes/studio_answers.py). All text via textContent.
let section, ctx;
const state = { kind: null, name: null, data: null, focus: null, timer: null, seq: 0, dirty: false };

export function init(root, context) {
  section = root; ctx = context;
  section.appendChild(ctx.el("h2", "", "回答"));
  const layout = ctx.el("div", "answers-layout");

  const side = ctx.el("aside", "panel answers-side");
  const filter = ctx.el("input");
  filter.id = "answers-filter"; filter.type = "search"; filter.placeholder = "搜索回答名、文字或表名";
  filter.addEventListener("input", () => filterList(filter.value));
  const list = ctx.el("ul", "answers-list");
  list.id = "answers-list";
  side.append(filter, list);

  const editor = ctx.el("div", "panel answer-editor");
  editor.id = "answer-editor";
  editor.appendChild(ctx.el("p", "muted", "从左边选一个回答或知识表。"));
  editor.addEventListener("input", (event) => {
    if (event.target.id !== "answer-message" && event.target.id !== "answer-table-filter") state.dirty = true;
    schedulePreview();
  });

  const previews = ctx.el("div", "answer-previews");
  const app = ctx.el("div", "answer-preview");
  app.append(ctx.el("h3", "", "App 里"));
  const appBox = ctx.el("div", "preview-phone");
  appBox.id = "answer-preview-app";
  app.appendChild(appBox);
  const wechat = ctx.el("div", "answer-preview");
  wechat.append(ctx.el("h3", "", "微信里"));
  const wechatBox = ctx.el("div", "preview-wechat");
  wechatBox.id = "answer-preview-wechat";
  wechat.appendChild(wechatBox);
  const warnings = ctx.el("ul", "answer-warnings");
  warnings.id = "answer-warnings";
  const pair = ctx.el("div", "answer-preview-pair");
  pair.append(app, wechat);
  previews.append(pair, warnings);

  layout.append(side, editor, previews);
  section.appendChild(layout);
}

export async function show(payload) {
  await loadList();
  if (payload && payload.response) await openResponse(payload.response);
  else if (payload && payload.table) await openTable(payload.table);
  else if (state.kind && !state.dirty) await reopen();  // other tabs may have changed the file meanwhile
}

function reopen() {
  return state.kind === "response" ? openResponse(state.name) : openTable(state.name);
}

// ------------------------------------------------------------------------------ the list
async function loadList() {
  const found = await ctx.api("/api/studio/answers");
  const list = ctx.$("answers-list");
  list.textContent = "";
  list.appendChild(ctx.el("li", "answers-heading", "回答（domain.yml）"));
  for (const r of found.responses) {
    const li = ctx.el("li", "answers-item");
    li.dataset.response = r.name;
    li.append(ctx.el("strong", "", r.name));
    if (r.label) li.append(ctx.el("span", "answers-label", r.label));
    li.append(ctx.el("span", "answers-snippet", r.text + (r.variations > 1 ? `（共 ${r.variations} 种说法）` : "")));
    li.addEventListener("click", () => openResponse(r.name).catch((e) => ctx.showError(e)));
    list.appendChild(li);
  }
  list.appendChild(ctx.el("li", "answers-heading", "知识表（data/knowledge）"));
  if (!found.tables.length) list.appendChild(ctx.el("li", "muted", "这个项目没有知识表"));
  for (const t of found.tables) {
    const li = ctx.el("li", "answers-item");
    li.dataset.table = t.stem;
    li.append(ctx.el("strong", "", t.title), ctx.el("span", "answers-snippet", `${t.file} · ${t.entries} 项`));
    li.addEventListener("click", () => openTable(t.stem).catch((e) => ctx.showError(e)));
    list.appendChild(li);
  }
  markActive();
  filterList(ctx.$("answers-filter").value);
}

function filterList(query) {
  const q = query.trim().toLowerCase();
  for (const li of ctx.$("answers-list").querySelectorAll("li.answers-item")) {
    li.hidden = q !== "" && !li.textContent.toLowerCase().includes(q);
  }
}

function markActive() {
  for (const li of ctx.$("answers-list").querySelectorAll("li.answers-item")) {
    const on = (state.kind === "response" && li.dataset.response === state.name) ||
      (state.kind === "table" && li.dataset.table === state.name);
    li.classList.toggle("active", on);
  }
}

function resetEditor(title, subtitle) {
  const editor = ctx.$("answer-editor");
  editor.textContent = "";
  const head = ctx.el("div", "answer-head");
  head.append(ctx.el("h3", "", title));
  if (subtitle) head.append(ctx.el("span", "muted", subtitle));
  editor.appendChild(head);
  return editor;
}

function footer(editor, defaultMessage, save) {
  const row = ctx.el("div", "row answer-footer");
  const message = ctx.el("input");
  message.id = "answer-message"; message.maxLength = 200;
  message.placeholder = "修改说明（选填，默认：" + defaultMessage + "）";
  message.setAttribute("aria-label", "修改说明");
  const button = ctx.el("button", "", "保存");
  button.id = "answer-save"; button.type = "button";
  button.addEventListener("click", async () => {
    button.disabled = true;
    result().textContent = "";
    result().className = "answer-result";
    try { await save(message.value.trim() || null); }
    catch (e) { failed(e); }
    finally { button.disabled = false; }
  });
  row.append(message, button);
  const out = ctx.el("div", "answer-result");
  out.id = "answer-result"; out.setAttribute("role", "status");
  editor.append(row, out);
}

function result() { return ctx.$("answer-result"); }

function saved(change) {
  const box = result();
  box.className = "answer-result ok";
  box.textContent = `已保存：${change.message}（提交 ${change.commit.slice(0, 8)}，${change.author}）。` +
    "修改在内容工作室的分支上，审核合并或训练上线后客户才看得到。";
}

// Errors from the workspace (409 with the other editor's diff, 422 with file and line) and ours.
function failed(error) {
  const box = result();
  box.className = "answer-result bad";
  ctx.showError(error, box);
  for (const old of ctx.$("answer-editor").querySelectorAll(".invalid")) old.classList.remove("invalid");
  if (error.line) {
    const at = ctx.$("answer-editor").querySelector(`[data-line="${Number(error.line)}"]`);
    if (at) { at.classList.add("invalid"); at.scrollIntoView({ block: "center" }); }
  }
  if (error.status === 409) {
    const reload = ctx.el("button", "secondary", "载入最新内容（放弃我的修改）");
    reload.id = "answer-reload"; reload.type = "button";
    reload.addEventListener("click", () => reopen().catch((e) => ctx.showError(e)));
    box.appendChild(reload);
  }
}

// ------------------------------------------------------------------------------ a response
async function openResponse(name) {
  const data = await ctx.api("/api/studio/answers/responses/" + encodeURIComponent(name));
  Object.assign(state, { kind: "response", name, data, focus: 0, dirty: false });
  markActive();
  const editor = resetEditor(name, [data.label, `${data.file} 第 ${data.line} 行`].filter(Boolean).join(" · "));
  editor.appendChild(placeholderNote(data.placeholders, true));
  const list = ctx.el("div", "answer-variations");
  list.id = "answer-variations";
  data.variations.forEach((v) => list.appendChild(variationBox(v)));
  renumber(list);
  const add = ctx.el("button", "secondary", "添加一种说法");
  add.id = "answer-add-variation"; add.type = "button";
  add.addEventListener("click", () => {
    list.appendChild(variationBox({ text: "", buttons: [], channel: null, line: null }));
    renumber(list);
    state.dirty = true;
  });
  editor.append(list, add);
  editor.appendChild(ctx.el("p", "muted", "客户每次看到其中一种说法（随机）。按钮在 App 里是快捷回复，在微信里变成编号选项。"));
  footer(editor, "修改回答 " + name, saveResponse);
  schedulePreview();
}

function placeholderNote(p, forResponse) {
  const box = ctx.el("div", "answer-placeholders");
  box.id = "answer-placeholders";
  box.appendChild(ctx.el("div", "", "占位符：" + p.note));
  if (p.required.length) box.appendChild(ctx.el("div", "", "必须保留：" + p.required.map((k) => `{${k}}`).join("、")));
  if (forResponse && p.slots.length) {
    box.appendChild(ctx.el("div", "muted", "槽位（Rasa 自动填）：" + p.slots.map((k) => `{${k}}`).join("、")));
  }
  for (const s of p.sources) {
    const filled = s.filled === null ? "（看不出填哪些）" : s.filled.map((k) => `{${k}}`).join("、") || "（不填值）";
    box.appendChild(ctx.el("div", "muted", `${s.reader} ${s.file} 第 ${s.line} 行：${filled}`));
  }
  return box;
}

function variationBox(v) {
  const box = ctx.el("div", "answer-variation");
  if (v.line) box.dataset.line = v.line;
  if (v.channel) box.dataset.channel = v.channel;
  const head = ctx.el("div", "row");
  head.append(ctx.el("strong", "answer-variation-title", ""));
  if (v.channel) head.append(ctx.el("span", "badge", "仅用于渠道 " + v.channel));
  const remove = ctx.el("button", "link answer-remove-variation", "删除这种说法");
  remove.type = "button";
  remove.addEventListener("click", () => {
    const list = box.parentElement;
    if (list.children.length <= 1) { result().textContent = "至少要保留一种说法"; return; }
    box.remove(); renumber(list); state.dirty = true; schedulePreview();
  });
  head.append(remove);
  const text = ctx.el("textarea", "answer-text");
  text.rows = Math.min(10, Math.max(3, v.text.split("\n").length + 1));
  text.value = v.text;
  text.setAttribute("aria-label", "回答文字");
  const buttons = ctx.el("div", "answer-buttons");
  for (const b of v.buttons) buttons.appendChild(buttonRow(b));
  const addButton = ctx.el("button", "link answer-add-button", "添加按钮");
  addButton.type = "button";
  addButton.addEventListener("click", () => {
    buttons.appendChild(buttonRow({ title: "", payload: "" }));
    state.dirty = true; schedulePreview();
  });
  box.append(head, text, buttons, addButton);
  box.addEventListener("focusin", () => {
    const list = box.parentElement;
    state.focus = [...list.children].indexOf(box);
    schedulePreview();
  });
  return box;
}

function buttonRow(b) {
  const row = ctx.el("div", "row answer-button");
  const title = ctx.el("input", "answer-button-title");
  title.value = b.title; title.placeholder = "按钮文字"; title.maxLength = 200;
  const payload = ctx.el("input", "answer-button-payload");
  payload.value = b.payload; payload.placeholder = "点击后发送，如 /request_human"; payload.maxLength = 1000;
  const remove = ctx.el("button", "link answer-button-remove", "删除");
  remove.type = "button";
  remove.addEventListener("click", () => { row.remove(); state.dirty = true; schedulePreview(); });
  row.append(title, payload, remove);
  return row;
}

function renumber(list) {
  [...list.children].forEach((box, i) => {
    box.dataset.index = i;
    box.querySelector(".answer-variation-title").textContent = `说法 ${i + 1}`;
  });
}

function readVariation(box) {
  return {
    text: box.querySelector("textarea.answer-text").value,
    buttons: [...box.querySelectorAll(".answer-button")].map((row) => ({
      title: row.querySelector(".answer-button-title").value.trim(),
      payload: row.querySelector(".answer-button-payload").value.trim(),
    })).filter((b) => b.title || b.payload),
    channel: box.dataset.channel || null,
  };
}

async function saveResponse(message) {
  const variations = [...ctx.$("answer-variations").children].map(readVariation);
  const change = await ctx.api("/api/studio/answers/responses/" + encodeURIComponent(state.name), {
    method: "PUT", body: { variations, base_version: state.data.version, message } });
  const name = state.name;
  await openResponse(name);
  saved(change);
  loadList().catch(() => {});
}

// ------------------------------------------------------------------------------ a table
async function openTable(stem) {
  const data = await ctx.api("/api/studio/answers/tables/" + encodeURIComponent(stem));
  Object.assign(state, { kind: "table", name: stem, data, focus: null, dirty: false });
  markActive();
  const editor = resetEditor(data.title, data.file);
  if (data.description) editor.appendChild(ctx.el("p", "muted answer-description", data.description));
  const filter = ctx.el("input");
  filter.id = "answer-table-filter"; filter.type = "search"; filter.placeholder = "在表里搜索";
  editor.appendChild(filter);
  const form = ctx.el("div", "answer-table");
  form.id = "answer-table";
  let group = null;
  const appendAfter = new Map(); // JSON of a list's path -> its ListOut
  for (const l of data.lists) appendAfter.set(JSON.stringify(l.path), l);
  data.entries.forEach((entry, i) => {
    if (entry.group !== group) {
      group = entry.group;
      if (group) form.appendChild(ctx.el("h4", "answer-group", group));
    }
    if (entry.section) form.appendChild(ctx.el("p", "answer-section", entry.section));
    form.appendChild(entryRow(entry));
    const parent = JSON.stringify(entry.path.slice(0, -1));
    const next = data.entries[i + 1];
    if (appendAfter.has(parent) && (!next || JSON.stringify(next.path.slice(0, -1)) !== parent)) {
      form.appendChild(appendButton(appendAfter.get(parent)));
      appendAfter.delete(parent);
    }
  });
  for (const l of appendAfter.values()) {  // empty lists
    form.appendChild(ctx.el("h4", "answer-group", [l.group, l.label].filter(Boolean).join(" › ")));
    form.appendChild(appendButton(l));
  }
  filter.addEventListener("input", () => {
    const q = filter.value.trim().toLowerCase();
    for (const row of form.querySelectorAll(".answer-entry")) {
      const value = row.querySelector(".answer-value");
      row.hidden = q !== "" && !(row.textContent + " " + (value ? value.value : "")).toLowerCase().includes(q);
    }
  });
  editor.appendChild(form);
  footer(editor, `修改${data.title}（${data.file}）`, saveTable);
  schedulePreview();
}

function entryRow(entry) {
  const row = ctx.el("div", "answer-entry");
  row.dataset.path = JSON.stringify(entry.path);
  row.dataset.kind = entry.kind;
  if (entry.line) row.dataset.line = entry.line;
  const label = ctx.el("label", "answer-entry-label");
  label.append(ctx.el("span", "", entry.label));
  if (entry.comment) label.append(ctx.el("span", "muted", " " + entry.comment));
  const input = valueInput(entry);
  row.append(label, input);
  if (entry.placeholders) row.appendChild(ctx.el("div", "muted answer-entry-note", entry.placeholders.note));
  if (entry.removable) {
    const remove = ctx.el("button", "link answer-entry-remove", "删除");
    remove.type = "button";
    remove.addEventListener("click", () => {
      const removed = row.dataset.removed !== "true";
      row.dataset.removed = String(removed);
      state.dirty = true;
      row.classList.toggle("removed", removed);
      remove.textContent = removed ? "撤销删除" : "删除";
    });
    row.appendChild(remove);
  }
  input.addEventListener("focus", () => { state.focus = row; schedulePreview(); });
  return row;
}

function valueInput(entry) {
  let input;
  if (entry.kind === "bool") {
    input = ctx.el("select", "answer-value");
    for (const [value, text] of [["true", "是"], ["false", "否"]]) {
      const option = ctx.el("option", "", text);
      option.value = value;
      input.appendChild(option);
    }
    input.value = String(entry.value);
  } else if (entry.kind === "number") {
    input = ctx.el("input", "answer-value");
    input.inputMode = "decimal";
    input.placeholder = "留空 = 不设上限 / 没有";
    input.value = entry.value === null ? "" : String(entry.value);
  } else {
    const text = String(entry.value);
    input = ctx.el(text.length > 24 || text.includes("\n") ? "textarea" : "input", "answer-value");
    if (input.tagName === "TEXTAREA") input.rows = Math.min(8, Math.max(2, text.split("\n").length + 1));
    input.value = text;
    if (entry.kind === "name") {
      input.classList.add("mono");
      input.title = "程序、规则或按钮用的名字：改错了会找不到，请谨慎修改";
    }
  }
  input.dataset.original = entry.value === null ? "" : String(entry.value);
  input.setAttribute("aria-label", entry.label);
  return input;
}

function appendButton(list) {
  const button = ctx.el("button", "link answer-entry-append", "添加一项");
  button.type = "button";
  button.dataset.path = JSON.stringify(list.path);
  button.addEventListener("click", () => {
    const row = ctx.el("div", "answer-entry added");
    row.dataset.append = JSON.stringify(list.path);
    const input = ctx.el("input", "answer-value");
    input.placeholder = "新的一项";
    input.setAttribute("aria-label", `${list.label} 新的一项`);
    const remove = ctx.el("button", "link answer-entry-remove", "删除");
    remove.type = "button";
    remove.addEventListener("click", () => row.remove());
    row.append(ctx.el("label", "answer-entry-label", "新的一项"), input, remove);
    button.before(row);
    state.dirty = true;
    input.focus();
  });
  return button;
}

function entryValue(row) {
  const input = row.querySelector(".answer-value");
  if (row.dataset.kind === "bool") return input.value === "true";
  if (row.dataset.kind === "number") {
    const text = input.value.trim();
    if (text === "") return null;
    return /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : text;  // not a number: the server says why
  }
  return input.value;
}

async function saveTable(message) {
  const form = ctx.$("answer-table");
  const sets = [], removes = [], appends = [];
  for (const row of form.querySelectorAll(".answer-entry")) {
    if (row.dataset.append) {
      const value = row.querySelector(".answer-value").value.trim();
      if (value) appends.push({ op: "append", path: JSON.parse(row.dataset.append), value });
      continue;
    }
    const path = JSON.parse(row.dataset.path);
    if (row.dataset.removed === "true") { removes.push({ op: "remove", path }); continue; }
    const input = row.querySelector(".answer-value");
    if (input.value !== input.dataset.original) sets.push({ op: "set", path, value: entryValue(row) });
  }
  // Values first (paths as read), then removals from the end of each list, then new items.
  removes.sort((a, b) => b.path[b.path.length - 1] - a.path[a.path.length - 1]);
  const changes = [...sets, ...removes, ...appends];
  if (!changes.length) { result().className = "answer-result"; result().textContent = "没有修改"; return; }
  const change = await ctx.api("/api/studio/answers/tables/" + encodeURIComponent(state.name), {
    method: "PUT", body: { changes, base_version: state.data.version, message } });
  await openTable(state.name);
  saved(change);
  loadList().catch(() => {});
}

// ------------------------------------------------------------------------------ the preview
function schedulePreview() {
  clearTimeout(state.timer);
  state.timer = setTimeout(() => preview().catch((e) => ctx.showError(e, ctx.$("answer-warnings"))), 250);
}

function previewBody() {
  if (state.kind === "response") {
    const boxes = [...(ctx.$("answer-variations") || { children: [] }).children];
    const box = boxes[Math.min(state.focus || 0, boxes.length - 1)];
    if (!box) return null;
    const v = readVariation(box);
    return { text: v.text, buttons: v.buttons, kind: "response", name: state.name };
  }
  if (state.kind === "table" && state.focus && state.focus.isConnected && state.focus.dataset.kind === "text") {
    const path = JSON.parse(state.focus.dataset.path);
    const input = state.focus.querySelector(".answer-value");
    const fragment = state.name === "wording" && path.length === 2 && path[0] === "fragments";
    return { text: input.value, buttons: [], kind: fragment ? "fragment" : "response", name: fragment ? path[1] : null };
  }
  return null;
}

async function preview() {
  const body = previewBody();
  const app = ctx.$("answer-preview-app"), wechat = ctx.$("answer-preview-wechat"), warnings = ctx.$("answer-warnings");
  if (!body) { app.textContent = ""; wechat.textContent = ""; warnings.textContent = ""; return; }
  const seq = ++state.seq;
  const found = await ctx.api("/api/studio/answers/preview", { method: "POST", body });
  if (seq !== state.seq) return;  // a newer preview is on its way

  app.textContent = "";
  app.appendChild(ctx.el("div", "bubble", found.app.text));
  if (found.app.buttons.length) {
    const replies = ctx.el("div", "answer-quick-replies");
    for (const b of found.app.buttons) replies.appendChild(ctx.el("span", "answer-quick-reply", b.title));
    app.appendChild(replies);
  }
  app.appendChild(ctx.el("div", "muted answer-length", `${found.app.chars} 字`));

  wechat.textContent = "";
  wechat.appendChild(ctx.el("div", "answer-wechat-bubble", found.wechat.text));
  const size = `${found.wechat.chars} 字 · ${found.wechat.bytes} 字节（单条上限 ${found.wechat.limit_bytes} 字节）` +
    (found.wechat.messages > 1 ? `，会拆成 ${found.wechat.messages} 条` : "");
  wechat.appendChild(ctx.el("div", "muted answer-length", size));

  warnings.textContent = "";
  for (const w of found.warnings) {
    const li = ctx.el("li", "answer-warning", w.message);
    li.dataset.code = w.code;
    if (w.code === "placeholder_unfilled" || w.code === "placeholder_missing" || w.code === "fragment_malformed") {
      li.classList.add("bad");
    }
    warnings.appendChild(li);
  }
}
