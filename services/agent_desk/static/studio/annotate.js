// 标注: assign the messages from the inbox to an existing intent or a new one. Shows the chosen
// intent's existing examples first; saving writes them to the intent's data/nlu/*.yml file (a new
// intent also gets its domain entry, an answer utter_<intent> and a rule), as one commit on the
// studio branch. What is written is the masked text the inbox shows.
import { highlighted } from "./inbox.js";

const NEW = "__new__";
let section, ctx;
let messages = [];    // [{text, entities}]
let guess = null;     // the intent the bot guessed for these messages
let project = null;   // GET /api/studio/intents
let versions = {};    // path -> version read (sent back as base_versions)
let examples = [];    // the chosen intent's existing examples

export function init(root, context) {
  section = root; ctx = context;
  const { el } = ctx;
  section.appendChild(el("h2", "", "标注"));
  section.appendChild(el("p", "muted",
    "把客户消息标注为一个意图，保存后写入该意图的训练数据文件，并作为一次提交记录在工作室分支上。" +
    "写入的是遮蔽后的文字（卡号、证件号、手机号、姓名不会进入训练数据）；高亮的实体由规则识别，仅供参考，不写入示例。"));

  const grid = el("div", "grid2");
  const left = el("div", "panel");
  left.appendChild(el("h3", "", "要标注的消息"));
  const list = el("ul", "annotate-messages");
  list.id = "annotate-messages";
  left.appendChild(list);

  const right = el("div", "panel");
  right.appendChild(el("h3", "", "意图"));
  const pick = el("label", "annotate-field", "标注为 ");
  const select = el("select");
  select.id = "annotate-intent";
  select.addEventListener("change", () => chooseIntent().catch((e) => ctx.showError(e, ctx.$("annotate-error"))));
  pick.appendChild(select);
  right.appendChild(pick);
  const hint = el("p", "muted");
  hint.id = "annotate-guess";
  right.appendChild(hint);

  const form = el("div", "annotate-new");
  form.id = "annotate-new";
  form.hidden = true;
  form.append(field("意图名（英文）", input("annotate-new-name", "例如 ask_card_replacement")),
              field("中文名称", input("annotate-new-label", "例如 补办银行卡")),
              field("机器人的回答", textarea("annotate-new-answer", "客户问这个问题时机器人回答的话")),
              field("示例写入文件", fileSelect()));
  right.appendChild(form);

  right.appendChild(el("h3", "", "这个意图已有的示例"));
  const existing = el("div", "annotate-examples");
  existing.id = "annotate-examples";
  existing.appendChild(el("p", "muted", "请先选择意图。"));
  right.appendChild(existing);

  const save = el("button", "", "保存");
  save.id = "annotate-save";
  save.addEventListener("click", () => saveAnnotation().catch((e) => ctx.showError(e, ctx.$("annotate-error"))));
  const error = el("div", "error");
  error.id = "annotate-error";
  error.setAttribute("role", "alert");
  const result = el("p", "ok");
  result.id = "annotate-result";
  right.append(save, error, result);
  grid.append(left, right);
  section.appendChild(grid);
}

function field(label, control) {
  const box = ctx.el("label", "annotate-field", label);
  box.appendChild(control);
  return box;
}

function input(id, placeholder) {
  const box = ctx.el("input");
  box.id = id; box.placeholder = placeholder; box.maxLength = id === "annotate-new-name" ? 64 : 60;
  if (id === "annotate-new-name") box.addEventListener("input", renderExamples);
  return box;
}

function textarea(id, placeholder) {
  const box = ctx.el("textarea");
  box.id = id; box.placeholder = placeholder; box.rows = 3; box.maxLength = 2000;
  return box;
}

function fileSelect() {
  const box = ctx.el("select");
  box.id = "annotate-new-file";
  return box;
}

export async function show(payload) {
  if (payload && payload.texts) {
    messages = payload.texts.map((text, i) => ({ text, entities: (payload.entities || [])[i] || [] }));
    guess = payload.guess || null;
    ctx.$("annotate-result").textContent = "";
    ctx.$("annotate-error").textContent = "";
    // New messages: the intent is chosen again (never saved to the previous messages' intent by mistake).
    ctx.$("annotate-intent").value = "";
    ctx.$("annotate-new").hidden = true;
    examples = [];
    renderExamples();
  }
  renderMessages();
  await loadIntents();
}

function renderMessages() {
  const { el } = ctx;
  const list = ctx.$("annotate-messages");
  list.textContent = "";
  if (!messages.length) {
    list.appendChild(el("li", "muted", "还没有选择消息：请在收件箱里点“标注”或“全部标注”。"));
    return;
  }
  messages.forEach((message, index) => {
    const li = el("li", "annotate-message");
    li.dataset.index = String(index);
    li.appendChild(highlighted(el, message.text, message.entities));
    if (examples.includes(message.text)) li.appendChild(el("span", "badge", "已是示例，将跳过"));
    const remove = el("button", "link remove-message", "移除");
    remove.addEventListener("click", () => { messages.splice(index, 1); renderMessages(); });
    li.appendChild(remove);
    list.appendChild(li);
  });
}

async function loadIntents() {
  const found = await ctx.api("/api/studio/intents");
  project = found;
  versions = { ...project.versions };
  const select = ctx.$("annotate-intent");
  const previous = select.value;  // read after the answer: a choice made meanwhile stays
  select.textContent = "";
  const none = ctx.el("option", "", "— 请选择意图 —");
  none.value = "";
  select.appendChild(none);
  for (const intent of project.intents) {
    const option = ctx.el("option", "", (intent.label ? intent.label + "（" + intent.name + "）" : intent.name) +
      " · " + intent.examples_count + " 条示例");
    option.value = intent.name;
    select.appendChild(option);
  }
  const create = ctx.el("option", "", "＋ 新建意图");
  create.value = NEW;
  select.appendChild(create);
  if ([...select.options].some((o) => o.value === previous)) select.value = previous;

  const files = ctx.$("annotate-new-file");
  const chosenFile = files.value;
  files.textContent = "";
  const names = [...project.nlu_files];
  if (!names.includes(project.default_new_file)) names.push(project.default_new_file);
  for (const name of names) {
    const option = ctx.el("option", "", name + (project.nlu_files.includes(name) ? "" : "（新文件）"));
    option.value = name;
    files.appendChild(option);
  }
  const guessed = project.intents.find((i) => i.name === guess);
  files.value = chosenFile && names.includes(chosenFile) ? chosenFile
    : (guessed && guessed.file) || project.default_new_file;
  ctx.$("annotate-guess").textContent = !guessed ? ""
    : "机器人原来猜的是：" + (guessed.label ? guessed.label + "（" + guessed.name + "）" : guessed.name);
  await chooseIntent();
}

async function chooseIntent() {
  const name = ctx.$("annotate-intent").value;
  ctx.$("annotate-new").hidden = name !== NEW;
  examples = [];
  if (name && name !== NEW) {
    const found = await ctx.api("/api/studio/intents/" + encodeURIComponent(name));
    if (ctx.$("annotate-intent").value !== name) return;  // another intent was chosen meanwhile
    examples = found.examples;
    if (found.file) versions[found.file] = found.version;
  }
  renderExamples();
  renderMessages();
}

function renderExamples() {
  const { el } = ctx;
  const box = ctx.$("annotate-examples");
  box.textContent = "";
  const name = ctx.$("annotate-intent").value;
  if (!name || !project) { box.appendChild(el("p", "muted", "请先选择意图。")); return; }
  if (name === NEW) { box.appendChild(el("p", "muted", "新意图，还没有示例：保存后这些消息就是它的第一批示例。")); return; }
  const intent = project.intents.find((i) => i.name === name);
  box.appendChild(el("p", "muted", examples.length + " 条示例" + (intent && intent.file ? "，在 " + intent.file : "")));
  const list = el("ul", "example-list");
  for (const text of examples) list.appendChild(el("li", "", text));
  box.appendChild(list);
}

async function saveAnnotation() {
  const result = ctx.$("annotate-result");
  const errorBox = ctx.$("annotate-error");
  result.textContent = "";
  errorBox.textContent = "";
  const chosen = ctx.$("annotate-intent").value;
  if (!messages.length) throw new Error("没有要标注的消息");
  if (!chosen) throw new Error("请选择意图");
  const body = { texts: messages.map((m) => m.text), base_versions: versions };
  if (chosen === NEW) {
    body.intent = ctx.$("annotate-new-name").value.trim();
    body.new_intent = { answer_text: ctx.$("annotate-new-answer").value.trim(),
                        label: ctx.$("annotate-new-label").value.trim() || null,
                        file: ctx.$("annotate-new-file").value };
    if (!body.intent) throw new Error("请填写意图名");
    if (!body.new_intent.answer_text) throw new Error("请填写机器人的回答");
  } else {
    body.intent = chosen;
  }
  const save = ctx.$("annotate-save");
  save.disabled = true;
  try {
    const done = await ctx.api("/api/studio/annotations", { method: "POST", body });
    result.textContent = "已保存：" + done.message + "（提交 " + done.commit.slice(0, 8) + "）" +
      (done.skipped.length ? "，跳过已有示例 " + done.skipped.length + " 条" : "");
    result.dataset.commit = done.commit;
    if (chosen === NEW) {
      for (const id of ["annotate-new-name", "annotate-new-label", "annotate-new-answer"]) ctx.$(id).value = "";
    }
    await loadIntents();
    if (chosen === NEW) { ctx.$("annotate-intent").value = done.intent; await chooseIntent(); }
  } catch (error) {
    ctx.showError(error, errorBox);
    // Someone else changed a file: read the new versions so that saving again starts from them.
    if (error.status === 409) await loadIntents().catch(() => {});
  } finally {
    save.disabled = false;
  }
}
