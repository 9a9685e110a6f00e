// 修改记录: the studio branch's commits (who changed what and when) and the patch to review.
let section, ctx;

export function init(root, context) {
  section = root; ctx = context;
  section.appendChild(ctx.el("h2", "", "修改记录"));
  const note = ctx.el("p", "muted", "工作室的每次保存都是分支上的一次提交，由开发同事审核后合并上线。");
  const link = ctx.el("button", "secondary", "导出补丁");
  link.id = "history-patch";
  link.addEventListener("click", downloadPatch);
  section.append(note, link);
  const table = ctx.el("table", "studio");
  table.id = "history-table";
  const head = ctx.el("tr");
  for (const title of ["时间", "修改人", "说明", "文件", "提交"]) head.appendChild(ctx.el("th", "", title));
  table.appendChild(head);
  section.appendChild(table);
}

export async function show() {
  const found = await ctx.api("/api/studio/history?limit=100");
  const table = section.querySelector("#history-table");
  for (const row of [...table.querySelectorAll("tr.change")]) row.remove();
  for (const change of found.changes) {
    const row = ctx.el("tr", "change");
    row.append(ctx.el("td", "", new Date(change.when).toLocaleString("zh-CN", { hour12: false })),
               ctx.el("td", "", change.author), ctx.el("td", "", change.message),
               ctx.el("td", "", change.files.join("、")), ctx.el("td", "muted", change.commit.slice(0, 8)));
    table.appendChild(row);
  }
}

async function downloadPatch() {
  try {
    const text = await ctx.api("/api/studio/changes.patch");
    const url = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
    const a = ctx.el("a");
    a.href = url; a.download = "content-studio.patch";
    a.click();
    URL.revokeObjectURL(url);
  } catch (e) { ctx.showError(e); }
}
