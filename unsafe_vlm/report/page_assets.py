"""The style and the script of ``report.html``, inlined into the page (it must open with no network)."""

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1200px; padding: 0 16px 40px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 28px; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 8px 0; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 3px 7px; vertical-align: top; }
th { background: #f4f4f4; } td.right { text-align: right; white-space: nowrap; }
figure { margin: 8px 0; } figure img { max-width: min(100%, 900px); border: 1px solid #eee; }
code { background: #f4f4f4; padding: 0 3px; font-size: 12px; word-break: break-all; }
#filters { position: sticky; top: 0; background: #fff; padding: 8px 0; border-bottom: 1px solid #ddd; z-index: 1; }
#filters label { margin-right: 10px; white-space: nowrap; } #filters select { max-width: 220px; }
#count { font-weight: 600; margin-left: 8px; }
.group { display: flex; gap: 12px; border-bottom: 1px solid #eee; padding: 8px 0; }
.thumb { width: 96px; height: 96px; object-fit: contain; cursor: pointer; filter: blur(9px);
         flex: none; image-rendering: pixelated; }
.thumb.open { filter: none; width: 256px; height: 256px; }
.noimage { width: 96px; flex: none; color: #888; font-size: 12px; }
.answers { flex: 1; } .answers table { width: 100%; }
.answers td.q { width: 34%; white-space: pre-wrap; } .answers td.r { width: 40%; white-space: pre-wrap; }
.right-verdict { color: #137333; } .wrong-verdict { color: #b3261e; font-weight: 600; }
.note { color: #666; font-size: 12px; }
button { margin: 12px 0; }
"""

SCRIPT = r"""
"use strict";
const data = JSON.parse(document.getElementById("answers").textContent);
const S = data.strings, col = {};
data.columns.forEach((name, i) => { col[name] = i; });
const judgeCols = data.judges.map(name => col["judge:" + name]);
const PAGE = 40;  // groups of answers shown at a time
let shown = PAGE, filtered = [];

function str(i) { return i < 0 ? "" : S[i]; }
function esc(text) {
  return String(text).replace(/[&<>"]/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]));
}
function fill(id, column) {
  const select = document.getElementById(id);
  const values = [...new Set(data.rows.map(r => r[col[column]]).filter(i => i >= 0))].map(str).sort();
  for (const value of values) { select.add(new Option(value, value)); }
  select.addEventListener("change", () => { shown = PAGE; render(); });
}
function setupDisagreement() {
  const select = document.getElementById("disagree");
  if (data.fit) { select.add(new Option("before and after training", "runs")); }
  data.judges.forEach((name, k) => select.add(new Option("this judge and " + name, "judge" + k)));
  select.disabled = select.options.length === 1;
  select.addEventListener("change", () => { shown = PAGE; render(); });
}
function matches(row, want) {
  for (const [column, value] of want.fields) {
    if (value && str(row[col[column]]) !== value) { return false; }
  }
  if (want.disagree === "runs") { return row[col.before_judged] >= 0 && row[col.before_judged] !== row[col.judged]; }
  if (want.disagree.startsWith("judge")) {
    const other = row[judgeCols[Number(want.disagree.slice(5))]];
    return other >= 0 && other !== row[col.judged];
  }
  return true;
}
function verdict(index, gold) {
  if (index < 0) { return ""; }
  const cls = index === gold ? "right-verdict" : "wrong-verdict";
  return '<span class="' + cls + '">' + esc(str(index)) + "</span>";
}
function groups(rows) {
  const out = [];
  for (const row of rows) {
    const image = row[col.image];
    const key = image >= 0 ? "i" + image : "c" + row[col.concept];
    if (!out.length || out[out.length - 1].key !== key) { out.push({key, image, rows: []}); }
    out[out.length - 1].rows.push(row);
  }
  return out;
}
function answerRow(row) {
  const gold = row[col.gold];
  let cells = "<td>" + esc(str(row[col.task])) + "</td><td class='q'>" + esc(str(row[col.question])) +
    "</td><td class='r'>" + esc(row[col.response] ?? "(no answer)") + "</td><td>" + esc(str(gold)) +
    "</td><td>" + verdict(row[col.judged], gold) + "</td>";
  if (data.fit) {
    cells += "<td>" + verdict(row[col.before_judged], gold) + "</td><td class='r'>" +
      esc(row[col.before_response] ?? "") + "</td>";
  }
  judgeCols.forEach(c => { cells += "<td>" + verdict(row[c], gold) + "</td>"; });
  return "<tr>" + cells + "</tr>";
}
function header() {
  let cells = "<th>task</th><th>question</th><th>answer</th><th>gold</th><th>verdict</th>";
  if (data.fit) { cells += "<th>before: verdict</th><th>before: answer</th>"; }
  data.judges.forEach(name => { cells += "<th>" + esc(name) + "</th>"; });
  return "<tr>" + cells + "</tr>";
}
function render() {
  const want = {
    fields: [["task", "task"], ["category", "category"], ["concept", "concept"], ["gold", "gold"],
             ["judged", "verdict"]].map(([column, id]) => [column, document.getElementById(id).value]),
    disagree: document.getElementById("disagree").value,
  };
  filtered = data.rows.filter(row => matches(row, want));
  const all = groups(filtered), head = header();
  const html = all.slice(0, shown).map(group => {
    const first = group.rows[0];
    const picture = group.image >= 0 && data.images[group.image]
      ? '<img class="thumb" alt="image, blurred: click to show" title="click to show or blur" src="' +
        data.images[group.image] + '">'
      : '<div class="noimage">' + (group.image >= 0 ? "image missing" : "text only: " + esc(str(first[col.concept]))) +
        "</div>";
    return '<div class="group">' + picture + '<div class="answers"><div class="note">' +
      esc(str(first[col.category])) + " · " + esc(str(first[col.concept])) + "</div><table>" + head +
      group.rows.map(answerRow).join("") + "</table></div></div>";
  }).join("");
  document.getElementById("rows").innerHTML = html;
  document.getElementById("count").textContent =
    filtered.length + " of " + data.rows.length + " answers (" + Math.min(shown, all.length) + " of " + all.length +
    " images or concepts shown)";
  document.getElementById("more").hidden = shown >= all.length;
}
document.getElementById("rows").addEventListener("click", event => {
  if (event.target.classList.contains("thumb")) { event.target.classList.toggle("open"); }
});
document.getElementById("more").addEventListener("click", () => { shown += PAGE; render(); });
[["task", "task"], ["category", "category"], ["concept", "concept"], ["gold", "gold"], ["verdict", "judged"]]
  .forEach(([id, column]) => fill(id, column));
setupDisagreement();
render();
"""
