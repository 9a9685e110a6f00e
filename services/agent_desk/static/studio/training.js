// 检查与训练: run the content check and training of the studio branch, compare the new model with
// the one Rasa runs, activate it when the gates pass, roll back with one click.
// API: /api/studio/jobs, /api/studio/jobs/{id}/activate, /api/studio/models(/rollback).
let section, ctx, job = null, timer = null;

const METRICS = [
  ["accuracy", "准确率"],
  ["macro_f1", "宏平均F1"],
  ["conversation_pass_rate", "对话通过率"],
];
const STATUS_TEXT = {
  running: "进行中", failed: "失败", ready: "可以启用", gates_failed: "质量门槛未通过", activated: "已启用",
};

export function init(root, context) {
  section = root; ctx = context;
  const { el } = ctx;
  section.appendChild(el("h2", "", "检查与训练"));

  const run = el("div", "panel");
  const actions = el("div", "row");
  const start = el("button", "", "检查并训练");
  start.id = "train-start";
  start.addEventListener("click", startJob);
  const status = el("span", "badge", "");
  status.id = "train-status";
  actions.append(start, status, el("span", "muted", "用分支上最新提交的内容做内容检查、训练新模型，并和当前模型比较。"));
  const bar = el("div", "progress train-progress");
  bar.id = "train-progress";
  bar.setAttribute("role", "progressbar");
  bar.setAttribute("aria-valuemin", "0");
  bar.setAttribute("aria-valuemax", "100");
  bar.appendChild(el("div"));
  const step = el("div", "train-step muted", "");
  step.id = "train-step";
  const messages = el("ul", "train-messages");
  messages.id = "train-messages";
  run.append(actions, bar, step, messages);

  const results = el("div", "panel");
  results.appendChild(el("h3", "", "新旧模型对比（留出测试集与对话测试）"));
  const table = el("table", "studio train-figures");
  table.id = "train-figures";
  const head = el("tr");
  for (const title of ["指标", "当前模型", "新模型"]) head.appendChild(el("th", "", title));
  const names = el("tr", "train-model-names");
  names.append(el("td", "muted", "模型文件"), cell("current", "model"), cell("new", "model"));
  table.append(head, names);
  for (const [key, label] of METRICS) {
    const row = el("tr");
    row.dataset.metric = key;
    row.append(el("th", "", label), cell("current", key), cell("new", key));
    table.appendChild(row);
  }
  const images = el("div", "grid2 train-images");
  images.append(figure("train-confusion", "新模型的混淆矩阵"), figure("train-confusion-current", "当前模型的混淆矩阵"));
  const gates = el("ul", "train-gates");
  gates.id = "train-gates";
  const activate = el("button", "", "启用新模型");
  activate.id = "train-activate";
  activate.disabled = true;
  activate.addEventListener("click", activateModel);
  results.append(table, el("h3", "", "质量门槛"), gates, activate, images);

  const live = el("div", "panel");
  live.appendChild(el("h3", "", "线上模型"));
  const active = el("div", "train-active");
  active.id = "train-active";
  const rollback = el("button", "secondary", "回滚到上一个模型");
  rollback.id = "train-rollback";
  rollback.disabled = true;
  rollback.addEventListener("click", rollBack);
  const history = el("ul", "train-history muted");
  history.id = "train-history";
  live.append(active, rollback, history);

  section.append(run, results, live);
}

function cell(which, key) {
  const td = ctx.el("td", "", "–");
  td.dataset.which = which;
  td.dataset.key = key;
  return td;
}

function figure(id, caption) {
  const box = ctx.el("figure", "train-figure");
  const img = ctx.el("img");
  img.id = id;
  img.alt = caption;
  img.hidden = true;
  box.append(img, ctx.el("figcaption", "muted", caption));
  return box;
}

export async function show() {
  await Promise.all([loadJob(), loadModels()]);
}

async function loadJob() {
  try {
    render(await ctx.api("/api/studio/jobs/current"));
  } catch (e) {
    if (e.status === 404) { render(null); return; }
    ctx.showError(e);
  }
}

async function startJob() {
  ctx.showError(null);
  try {
    render(await ctx.api("/api/studio/jobs", { method: "POST" }));
  } catch (e) {
    ctx.showError(e);
    if (e.status === 409) loadJob();
  }
}

function poll() {
  if (timer) return;
  timer = setInterval(async () => {
    if (!job || job.status !== "running") { stopPolling(); return; }
    try {
      render(await ctx.api("/api/studio/jobs/" + encodeURIComponent(job.id)));
    } catch (e) {
      stopPolling();
      ctx.showError(e);
    }
  }, 1000);
}

function stopPolling() {
  if (timer) clearInterval(timer);
  timer = null;
}

function percent(value) {
  return value === null || value === undefined ? "–" : (value * 100).toFixed(1) + "%";
}

function render(found) {
  const $ = ctx.$;
  job = found;
  const running = !!job && job.status === "running";
  $("train-start").disabled = running;
  const progress = job ? job.progress : 0;
  const bar = $("train-progress");
  bar.firstChild.style.width = progress + "%";
  bar.setAttribute("aria-valuenow", String(progress));
  bar.classList.toggle("failed", !!job && job.status === "failed");
  $("train-status").textContent = job ? STATUS_TEXT[job.status] || job.status : "";
  $("train-status").dataset.status = job ? job.status : "";
  $("train-step").textContent = !job ? "还没有训练过。" : running
    ? `${job.step_label}（${progress}%）`
    : `${job.started_by_name} 于 ${when(job.started_at)} 开始` + (job.commit ? `，版本 ${job.commit.slice(0, 8)}` : "")
      + (job.finished_at ? `，${when(job.finished_at)} 结束` : "");

  const messages = $("train-messages");
  messages.textContent = "";
  for (const message of (job ? job.messages : [])) {
    const item = ctx.el("li", "train-message " + message.level, message.text);
    item.dataset.level = message.level;
    if (message.file) item.dataset.file = message.file;
    if (message.line) item.dataset.line = String(message.line);
    messages.appendChild(item);
  }

  const figures = (job && job.figures) || {};
  for (const td of section.querySelectorAll("#train-figures td[data-which]")) {
    const values = figures[td.dataset.which];
    if (!values) { td.textContent = "–"; continue; }
    if (td.dataset.key === "model") { td.textContent = values.model; continue; }
    const value = values[td.dataset.key];
    td.textContent = td.dataset.key === "macro_f1" ? (value === null || value === undefined ? "–" : value.toFixed(3))
      : percent(value);
    if (td.dataset.key === "conversation_pass_rate" && values.conversations_total) {
      td.textContent += `（${values.conversations_passed}/${values.conversations_total}）`;
    } else if (td.dataset.key === "conversation_pass_rate" && value === null && values.note) {
      td.title = values.note;
      td.textContent = "无对话测试";
    }
  }
  image($("train-confusion"), figures.new);
  image($("train-confusion-current"), figures.current);

  const gates = $("train-gates");
  gates.textContent = "";
  for (const gate of (job ? job.gates : [])) {
    const item = ctx.el("li", gate.ok ? "ok" : "bad", `${gate.ok ? "✓" : "✗"} ${gate.label}：${gate.detail}`);
    item.dataset.gate = gate.name;
    item.dataset.ok = String(gate.ok);
    gates.appendChild(item);
  }
  $("train-activate").disabled = !job || job.status !== "ready";
  if (running) poll(); else stopPolling();
}

function image(img, figures) {
  if (figures && figures.confusion_png) {
    img.src = figures.confusion_png;
    img.hidden = false;
  } else {
    img.removeAttribute("src");
    img.hidden = true;
  }
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString("zh-CN", { hour12: false }) : "";
}

async function activateModel() {
  if (!job) return;
  ctx.showError(null);
  const button = ctx.$("train-activate");
  button.disabled = true;
  button.textContent = "正在切换…";
  try {
    render(await ctx.api(`/api/studio/jobs/${encodeURIComponent(job.id)}/activate`, { method: "POST" }));
  } catch (e) {
    ctx.showError(e);
    await loadJob();
  } finally {
    button.textContent = "启用新模型";
  }
  await loadModels();
}

async function rollBack() {
  ctx.showError(null);
  const button = ctx.$("train-rollback");
  button.disabled = true;
  try {
    renderModels(await ctx.api("/api/studio/models/rollback", { method: "POST" }));
  } catch (e) {
    ctx.showError(e);
    await loadModels();
  }
  await loadJob();
}

async function loadModels() {
  try {
    renderModels(await ctx.api("/api/studio/models"));
  } catch (e) { ctx.showError(e); }
}

function describe(record) {
  if (!record) return "";
  const figures = record.figures ? `，准确率 ${percent(record.figures.accuracy)}` : "";
  const by = record.activated_by_name ? `，${record.activated_by_name} 于 ${when(record.at)} 启用` : "（Rasa 启动时加载）";
  return record.name + by + figures;
}

// While Rasa's workers follow a switch (each loads the model, some seconds apart), ask again.
const SWITCH_POLL_MS = 2000;
const SWITCH_POLL_LIMIT = 150;
let switchPolls = 0;

function renderModels(models) {
  const $ = ctx.$;
  const active = $("train-active");
  active.textContent = "";
  const line = ctx.el("div", "", models.active ? "当前模型：" + describe(models.active)
    : models.rasa_error ? "当前模型：未知" : "Rasa 还没有加载模型");
  line.dataset.model = models.running || "";
  active.appendChild(line);
  if (models.rasa_error) active.appendChild(ctx.el("div", "bad", models.rasa_error));
  if (models.switching) {
    active.appendChild(ctx.el("div", "muted switching",
      `正在切换：${models.workers.on_latest}/${models.workers.total} 个 Rasa 进程已加载这个模型，其余的几秒后跟上`));
    if (switchPolls++ < SWITCH_POLL_LIMIT) setTimeout(loadModels, SWITCH_POLL_MS);
  } else {
    switchPolls = 0;
    if (!models.in_sync) active.appendChild(ctx.el("div", "bad", "Rasa 运行的模型不是工作室最后启用的模型（Rasa 可能重启过）"));
  }
  if (models.previous) active.appendChild(ctx.el("div", "muted", "回滚将恢复：" + describe(models.previous)));
  $("train-rollback").disabled = !models.can_roll_back;
  const history = $("train-history");
  history.textContent = "";
  for (const entry of models.history.slice(0, 10)) {
    const verb = entry.action === "rollback" ? "回滚到" : "启用了";
    history.appendChild(ctx.el("li", "", `${when(entry.at)} ${entry.activated_by_name} ${verb} ${entry.model}`));
  }
}
