// 收件箱: customers' messages the bot did not handle well (fell back, low confidence, followed by
// 转人工 or a repeat, low rating), grouped by similarity, masked on the server. Each message has its
// conversation one click away (查看对话) and goes to the 标注 tab (标注 / 全部标注).
let section, ctx;
let current = null;   // the last answer of GET /api/studio/inbox

export const REASON_LABELS = {
  nlu_fallback: "没听懂", out_of_scope: "超出范围", low_confidence: "置信度低", core_fallback: "对话兜底",
  handoff: "之后转人工", repeated: "客户重复提问", low_rating: "评价低",
};

export function reasonLabel(reason) { return REASON_LABELS[reason] || reason; }

export function formatTime(ts) {
  if (ts === null || ts === undefined) return "";
  return new Date(ts * 1000).toLocaleString("zh-CN", { hour12: false });
}

export function percent(confidence) {
  return confidence === null || confidence === undefined ? "—" : Math.round(confidence * 100) + "%";
}

// The text with its entity spans highlighted (offsets are in the masked text the server sent).
export function highlighted(el, text, entities) {
  const box = el("span", "msg-text");
  let at = 0;
  const spans = [...(entities || [])].filter((e) => e.start >= 0 && e.end <= text.length && e.start < e.end)
    .sort((a, b) => a.start - b.start);
  for (const entity of spans) {
    if (entity.start < at) continue;
    if (entity.start > at) box.appendChild(document.createTextNode(text.slice(at, entity.start)));
    const mark = el("mark", "entity", text.slice(entity.start, entity.end));
    mark.dataset.entity = entity.entity;
    mark.title = entity.entity + (entity.value ? "：" + entity.value : "");
    box.appendChild(mark);
    at = entity.end;
  }
  if (at < text.length) box.appendChild(document.createTextNode(text.slice(at)));
  return box;
}

export function init(root, context) {
  section = root; ctx = context;
  const { el } = ctx;
  section.appendChild(el("h2", "", "收件箱"));
  section.appendChild(el("p", "muted",
    "这里是真实对话里机器人没处理好的客户消息：没听懂、置信度低、之后转人工或客户重复提问、评价低。" +
    "相似的消息归为一组。卡号、证件号、手机号和姓名已在服务器端遮蔽；标注时写入训练数据的也是遮蔽后的文字。"));

  const filters = el("div", "row inbox-filters");
  const limit = el("select");
  limit.id = "inbox-limit";
  for (const n of [50, 200, 500, 1000]) {
    const option = el("option", "", "最近 " + n + " 个会话");
    option.value = String(n);
    if (n === 200) option.selected = true;
    limit.appendChild(option);
  }
  const sinceLabel = el("label", "inline", "起始日期 ");
  const since = el("input");
  since.id = "inbox-since"; since.type = "date";
  sinceLabel.appendChild(since);
  const hideLabel = el("label", "inline");
  const hide = el("input");
  hide.id = "inbox-hide-annotated"; hide.type = "checkbox";
  hideLabel.append(hide, document.createTextNode(" 隐藏已标注"));
  const refresh = el("button", "", "刷新");
  refresh.id = "inbox-refresh";
  refresh.addEventListener("click", () => load().catch((e) => ctx.showError(e)));
  for (const input of [limit, since, hide]) input.addEventListener("change", () => load().catch((e) => ctx.showError(e)));
  filters.append(limit, sinceLabel, hideLabel, refresh);
  section.appendChild(filters);

  const summary = el("p", "muted");
  summary.id = "inbox-summary";
  section.appendChild(summary);

  const layout = el("div", "inbox-layout");
  const list = el("ol", "inbox-list");
  list.id = "inbox-list";
  const view = el("aside", "panel conversation-view");
  view.id = "conversation-view";
  view.hidden = true;
  layout.append(list, view);
  section.appendChild(layout);
}

export async function show() {
  await load();
}

async function load() {
  const params = new URLSearchParams({ limit: ctx.$("inbox-limit").value });
  if (ctx.$("inbox-since").value) params.set("since", ctx.$("inbox-since").value);
  if (ctx.$("inbox-hide-annotated").checked) params.set("include_annotated", "false");
  const summary = ctx.$("inbox-summary");
  summary.textContent = "正在读取对话…";
  current = await ctx.api("/api/studio/inbox?" + params.toString());
  summary.textContent = "读取了 " + current.conversations + " 个会话：" + current.messages + " 条待处理消息，" +
    current.groups.length + " 组相似问题。";
  render();
}

function render() {
  const { el } = ctx;
  const list = ctx.$("inbox-list");
  list.textContent = "";
  if (!current.groups.length) {
    list.appendChild(el("li", "muted center", "没有需要处理的消息。"));
    return;
  }
  for (const group of current.groups) {
    const li = el("li", "inbox-group panel");
    li.dataset.group = group.id;
    const head = el("div", "row inbox-group-head");
    head.appendChild(el("strong", "", group.representative));
    head.appendChild(el("span", "count", group.size + " 条"));
    for (const [reason, count] of Object.entries(group.reasons)) {
      const chip = el("span", "reason-chip", reasonLabel(reason) + " ×" + count);
      chip.dataset.reason = reason;
      head.appendChild(chip);
    }
    if (group.guessed_intents.length) {
      const guess = group.guessed_intents[0];
      head.appendChild(el("span", "muted", "机器人猜：" + (guess.label || guess.intent)));
    }
    if (group.annotated) head.appendChild(el("span", "badge annotated-badge", "已标注 " + group.annotated + " 条"));
    head.appendChild(el("span", "spacer"));
    const all = el("button", "annotate-group", "全部标注");
    all.addEventListener("click", () => openAnnotate(group.examples.filter((m) => !m.annotated).length
      ? group.examples.filter((m) => !m.annotated) : group.examples, group));
    head.appendChild(all);
    li.appendChild(head);

    const items = el("ul", "inbox-items");
    for (const message of group.examples) items.appendChild(item(message, group));
    li.appendChild(items);
    list.appendChild(li);
  }
}

function item(message, group) {
  const { el } = ctx;
  const li = el("li", "inbox-item");
  li.dataset.sender = message.sender_id;
  if (message.ts !== null) li.dataset.ts = String(message.ts);
  if (message.annotated) { li.classList.add("annotated"); li.dataset.annotated = message.annotated; }
  const row = el("div", "row");
  row.appendChild(highlighted(el, message.text, message.entities));
  row.appendChild(el("span", "spacer"));
  const view = el("button", "secondary view-conversation", "查看对话");
  view.addEventListener("click", () => openConversation(message).catch((e) => ctx.showError(e)));
  const annotate = el("button", "annotate", message.annotated ? "重新标注" : "标注");
  annotate.addEventListener("click", () => openAnnotate([message], group));
  row.append(view, annotate);
  li.appendChild(row);

  const meta = el("div", "muted inbox-meta");
  meta.appendChild(el("span", "", message.reasons.map(reasonLabel).join("、")));
  meta.appendChild(el("span", "", "猜测意图 " + (message.intent_label || message.intent || "无") +
    "（" + percent(message.confidence) + "）"));
  meta.appendChild(el("span", "", formatTime(message.ts)));
  if (message.annotated) meta.appendChild(el("span", "badge annotated-badge", "已标注：" + message.annotated));
  li.appendChild(meta);
  return li;
}

function openAnnotate(messages, group) {
  ctx.open("annotate", {
    texts: messages.map((m) => m.text),
    entities: messages.map((m) => m.entities),
    guess: group && group.guessed_intents.length ? group.guessed_intents[0].intent : null,
  });
}

async function openConversation(message) {
  const { el } = ctx;
  const view = ctx.$("conversation-view");
  view.hidden = false;
  view.textContent = "";
  view.appendChild(el("p", "muted", "正在读取对话…"));
  const found = await ctx.api("/api/studio/conversations/" + encodeURIComponent(message.sender_id));
  view.textContent = "";
  const head = el("div", "row");
  head.appendChild(el("h3", "", "对话 " + found.sender_id));
  head.appendChild(el("span", "spacer"));
  const close = el("button", "link", "关闭");
  close.id = "conversation-close";
  close.addEventListener("click", () => { view.hidden = true; });
  head.appendChild(close);
  view.appendChild(head);
  const turns = el("ol", "transcript studio-transcript");
  for (const turn of found.turns) {
    const li = el("li", "turn " + turn.role);
    li.dataset.role = turn.role;
    if (turn.role === "system") {
      li.textContent = "— " + turn.text + " —";
    } else {
      li.appendChild(el("div", "who", (turn.role === "user" ? "客户" : "机器人") + " · " + formatTime(turn.ts)));
      li.appendChild(highlighted(el, turn.text, turn.entities));
      if (turn.role === "user") {
        li.appendChild(el("div", "muted turn-intent", "意图 " + (turn.intent || "无") + "（" + percent(turn.confidence) + "）"));
      }
    }
    if (turn.role === "user" && message.ts !== null && turn.ts === message.ts) {
      li.classList.add("selected");
      li.id = "conversation-selected";
    }
    turns.appendChild(li);
  }
  view.appendChild(turns);
  const selected = view.querySelector("#conversation-selected");
  if (selected) selected.scrollIntoView({ block: "center" });
}
