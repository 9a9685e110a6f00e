"""`report`: how well the current model understands the held-out test set, as HTML.

Rasa does the evaluation (`rasa test nlu`, which writes intent_report.json,
intent_errors.json, intent_successes.json and its own plots); this module reads those files
back and adds what content teams need: Chinese intent names, a confusion matrix image, the
most-confused pairs with example sentences, and what changed since the last run
(`reports/nlu/previous.json` is the summary of the last completed run).

Outputs in the report folder (default reports/nlu/):
  index.html             the report
  summary.json           accuracy, macro F1, per-intent figures (machine-readable)
  confusion_matrix.png   rows = true intent, columns = predicted intent
  previous.json          this run's summary, kept for the next run's comparison
  rasa/                  Rasa's own evaluation output;  cv/  cross-validation output
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from bot.content.project import ProjectPaths, load_intent_labels
from bot.masking import mask_personal

AVERAGE_KEYS = ("accuracy", "macro avg", "weighted avg", "micro avg")
FALLBACK_INTENT = "nlu_fallback"
CHANGE_THRESHOLD = 0.01  # F1 changes smaller than this are "unchanged"
# What to show from Rasa's output: its log lines and tqdm progress bars; not library noise.
_SHOW = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+(INFO|WARNING|ERROR)|\d+%\|")
_HIDE = re.compile(r"urllib3|sentry|tensorflow|Your Rasa model", re.IGNORECASE)


@dataclass
class ReportOptions:
    paths: ProjectPaths
    out_dir: Path
    model: Optional[Path] = None
    test_data: Optional[Path] = None
    cross_validation: bool = False
    folds: int = 3
    baseline: Optional[Path] = None
    train: bool = True


def progress(message: str) -> None:
    print(f"[report] {message}", flush=True)


# --------------------------------------------------------------------------- running Rasa
def current_model(paths: ProjectPaths, train: bool = True) -> Path:
    """The model for the current training inputs (`python -m bot model-path`), trained if missing."""
    from bot import model_cache

    if train:
        return model_cache.ensure_trained()
    path = model_cache.model_path(paths.root)
    if not path.exists():
        raise SystemExit(f"没有找到当前数据对应的模型 {path}。请先运行 `python -m bot train`（或去掉 --no-train）。")
    return path


def run_rasa(args: Sequence[str], cwd: Path) -> None:
    """Runs `python -m rasa ...`, showing its progress lines without the library noise."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "RASA_TELEMETRY_ENABLED": "false",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ProjectPaths().root), os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "rasa", *args]
    progress("$ rasa " + " ".join(args))
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    tail: List[str] = []
    buffer = b""
    while True:
        chunk = proc.stdout.read1(4096) if hasattr(proc.stdout, "read1") else proc.stdout.read(4096)
        if not chunk:
            break
        buffer += chunk
        parts = re.split(rb"(\r|\n)", buffer)
        buffer = parts.pop() if len(parts) % 2 else b""
        for text, sep in zip(parts[0::2], parts[1::2]):
            line = re.sub(r"\x1b\[[0-9;]*m", "", text.decode("utf-8", "replace")).rstrip()
            if not line:
                continue
            tail = (tail + [line])[-30:]
            if not _SHOW.search(line) or _HIDE.search(line):
                continue
            # tqdm redraws its bar with \r: keep it on one terminal line.
            print(f"  rasa| {line}", end="\r" if sep == b"\r" else "\n", flush=True)
    if proc.wait() != 0:
        print("\n".join(tail), file=sys.stderr)
        raise RuntimeError(f"rasa {' '.join(args[:2])} failed with exit code {proc.returncode}")
    print(flush=True)


def evaluate(model: Path, test_data: Path, out: Path, cwd: Path) -> Path:
    """`rasa test nlu` on the held-out set; returns Rasa's output folder."""
    if out.exists():
        shutil.rmtree(out)
    run_rasa(["test", "nlu", "--model", str(model), "--nlu", str(test_data), "--out", str(out),
              "--successes"], cwd)
    return out


def cross_validate(paths: ProjectPaths, folds: int, out: Path) -> Path:
    if out.exists():
        shutil.rmtree(out)
    run_rasa(["test", "nlu", "--nlu", str(paths.nlu_dir), "--config", "config.yml",
              "--cross-validation", "--folds", str(folds), "--out", str(out)], paths.root)
    return out


# --------------------------------------------------------------------------- figures
def read_json(path: Path, default: Any = None) -> Any:
    if not path.exists():
        return default
    return json.loads(path.read_text(encoding="utf-8"))


def load_predictions(rasa_dir: Path) -> List[Dict[str, Any]]:
    """Every test example with its predicted intent (Rasa writes errors and successes apart)."""
    rows = []
    for name, correct in (("intent_errors.json", False), ("intent_successes.json", True)):
        for item in read_json(rasa_dir / name, []) or []:
            prediction = item.get("intent_prediction") or {}
            rows.append({"text": mask_personal(item.get("text", "")), "intent": item.get("intent"),
                         "predicted": prediction.get("name"), "confidence": prediction.get("confidence"),
                         "correct": correct})
    return rows


def fallback_threshold(paths: ProjectPaths) -> Optional[float]:
    """FallbackClassifier's threshold from config.yml (Rasa's evaluation undoes its predictions)."""
    import yaml

    config = paths.root / "config.yml"
    if not config.exists():
        return None
    for component in (yaml.safe_load(config.read_text(encoding="utf-8")) or {}).get("pipeline") or []:
        if isinstance(component, dict) and component.get("name") == "FallbackClassifier":
            return float(component.get("threshold", 0.3))
    return None


def summarize(report: Dict[str, Any], predictions: List[Dict[str, Any]], labels: Dict[str, str],
              model: Optional[Path], test_data: Optional[Path], threshold: Optional[float] = None) -> Dict[str, Any]:
    per_intent = {}
    for intent, figures in report.items():
        if intent in AVERAGE_KEYS or not isinstance(figures, dict):
            continue
        per_intent[intent] = {
            "label": labels.get(intent, ""),
            "precision": figures["precision"],
            "recall": figures["recall"],
            "f1": figures["f1-score"],
            "support": figures["support"],
            "confused_with": figures.get("confused_with", {}),
        }
    n = len(predictions)
    # `rasa test nlu` reverts FallbackClassifier's nlu_fallback to the intent underneath, so
    # count the test sentences a live bot would not have answered from the threshold.
    fallback = sum(1 for p in predictions if p["predicted"] == FALLBACK_INTENT
                   or (threshold is not None and p["confidence"] is not None and p["confidence"] < threshold))
    accuracy = report.get("accuracy")
    if accuracy is None:  # sklearn reports micro avg instead when labels are a subset
        accuracy = report.get("micro avg", {}).get("f1-score")
    return {
        "created_at": dt.datetime.now().isoformat(timespec="seconds"),
        "model": model.name if model else None,
        "test_data": str(test_data) if test_data else None,
        "n_test": n or int(report.get("weighted avg", {}).get("support", 0)),
        "accuracy": accuracy,
        "macro_f1": report["macro avg"]["f1-score"],
        "macro_precision": report["macro avg"]["precision"],
        "macro_recall": report["macro avg"]["recall"],
        "weighted_f1": report["weighted avg"]["f1-score"],
        "fallback_threshold": threshold,
        "fallback_count": fallback,
        "fallback_rate": (fallback / n) if n else 0.0,
        "per_intent": per_intent,
        "top_confusions": top_confusions(predictions),
    }


def top_confusions(predictions: List[Dict[str, Any]], limit: int = 10, examples: int = 3) -> List[Dict[str, Any]]:
    pairs: Dict[Tuple[str, str], List[Dict[str, Any]]] = defaultdict(list)
    for p in predictions:
        if not p["correct"]:
            pairs[(p["intent"], p["predicted"])].append(p)
    ranked = sorted(pairs.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:limit]
    return [{"intent": intent, "predicted": predicted, "count": len(items),
             "examples": [{"text": i["text"], "confidence": i["confidence"]}
                          for i in sorted(items, key=lambda i: -(i["confidence"] or 0))[:examples]]}
            for (intent, predicted), items in ranked]


def diff(current: Dict[str, Any], previous: Optional[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    if not previous:
        return None
    changes = []
    old = previous.get("per_intent", {})
    for intent, now in current["per_intent"].items():
        if now["support"] == 0 and intent not in old:
            continue
        before = old.get(intent)
        if before is None:
            changes.append({"intent": intent, "label": now["label"], "status": "new", "f1": now["f1"],
                            "previous_f1": None, "delta": None})
            continue
        delta = now["f1"] - before["f1"]
        status = "better" if delta >= CHANGE_THRESHOLD else "worse" if delta <= -CHANGE_THRESHOLD else "same"
        changes.append({"intent": intent, "label": now["label"], "status": status, "f1": now["f1"],
                        "previous_f1": before["f1"], "delta": delta,
                        "recall_delta": now["recall"] - before["recall"],
                        "precision_delta": now["precision"] - before["precision"]})
    for intent, before in old.items():
        if intent not in current["per_intent"] and before.get("support"):
            changes.append({"intent": intent, "label": before.get("label", ""), "status": "removed",
                            "f1": None, "previous_f1": before["f1"], "delta": None})
    changes.sort(key=lambda c: (c["delta"] is None, c["delta"] or 0))
    return {
        "previous_created_at": previous.get("created_at"),
        "previous_model": previous.get("model"),
        "accuracy_delta": _delta(current.get("accuracy"), previous.get("accuracy")),
        "macro_f1_delta": _delta(current.get("macro_f1"), previous.get("macro_f1")),
        "test_set_changed": previous.get("n_test") != current.get("n_test"),
        "better": [c for c in changes if c["status"] == "better"][::-1],
        "worse": [c for c in changes if c["status"] == "worse"],
        "new": [c for c in changes if c["status"] == "new"],
        "removed": [c for c in changes if c["status"] == "removed"],
    }


def _delta(now: Optional[float], before: Optional[float]) -> Optional[float]:
    return None if now is None or before is None else now - before


# --------------------------------------------------------------------------- image
def _cjk_font() -> Optional[str]:
    from matplotlib import font_manager

    for font in font_manager.fontManager.ttflist:
        if re.search(r"CJK|WenQuanYi|SimHei|Hei|Song|Ming|Source Han|Noto Sans SC|PingFang", font.name):
            return font.name
    return None


def plot_confusion_matrix(predictions: List[Dict[str, Any]], labels: Dict[str, str], path: Path) -> List[str]:
    """Rows: true intent; columns: predicted. Colour = share of the row, number = count."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from sklearn.metrics import confusion_matrix

    truth = [p["intent"] for p in predictions]
    predicted = [p["predicted"] for p in predictions]
    names = sorted(set(truth) | set(predicted))
    matrix = confusion_matrix(truth, predicted, labels=names) if names else np.zeros((0, 0), int)
    font = _cjk_font()
    if font:  # Chinese names only when a CJK font is installed; otherwise glyphs would be boxes
        plt.rcParams["font.sans-serif"] = [font, "DejaVu Sans"]
        tick_names = [f"{labels[n]} ({n})" if labels.get(n) else n for n in names]
    else:
        tick_names = names
    size = max(6.0, 0.42 * len(names) + 3)
    fig, ax = plt.subplots(figsize=(size + 1.5, size), dpi=100)
    rows = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, rows, out=np.zeros_like(matrix, dtype=float), where=rows > 0)
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of true intent")
    ax.set_xticks(range(len(names)))
    ax.set_yticks(range(len(names)))
    ax.set_xticklabels(tick_names, rotation=90, fontsize=8)
    ax.set_yticklabels(tick_names, fontsize=8)
    ax.set_xlabel("predicted intent")
    ax.set_ylabel("true intent")
    ax.set_title(f"Intent confusion matrix ({len(predictions)} test examples)")
    for i in range(len(names)):
        for j in range(len(names)):
            if matrix[i, j]:
                ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if share[i, j] > 0.5 else ("#b00020" if i != j else "black"))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return names


# --------------------------------------------------------------------------- HTML
def render_html(summary: Dict[str, Any], out_dir: Path, image_name: str) -> Path:
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(Path(__file__).parent / "templates")),
                             autoescape=jinja2.select_autoescape(["html", "j2"]))
    env.filters["pct"] = lambda v: "–" if v is None else f"{v * 100:.1f}%"
    env.filters["num"] = lambda v: "–" if v is None else f"{v:.3f}"
    env.filters["signed"] = lambda v: "–" if v is None else f"{v * 100:+.1f}"
    intents = sorted(((k, v) for k, v in summary["per_intent"].items() if v["support"] > 0),
                     key=lambda kv: (kv[1]["f1"], kv[0]))
    deltas = {c["intent"]: c for group in ("better", "worse", "new") for c in (summary.get("diff") or {}).get(group, [])}
    html = env.get_template("report.html.j2").render(s=summary, intents=intents, deltas=deltas,
                                                     image=image_name, fallback=FALLBACK_INTENT)
    path = out_dir / "index.html"
    path.write_text(html, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- command
def build_summary(rasa_dir: Path, labels: Dict[str, str], model: Optional[Path],
                  test_data: Optional[Path], threshold: Optional[float] = None) -> Tuple[Dict[str, Any], List[Dict[str, Any]]]:
    report = read_json(rasa_dir / "intent_report.json")
    if report is None:
        raise RuntimeError(f"Rasa did not write {rasa_dir / 'intent_report.json'}")
    predictions = load_predictions(rasa_dir)
    return summarize(report, predictions, labels, model, test_data, threshold), predictions


def run_report(options: ReportOptions) -> int:
    paths = options.paths
    out = options.out_dir
    out.mkdir(parents=True, exist_ok=True)
    test_data = options.test_data or paths.test_data
    if not test_data.exists():
        print(f"找不到测试集 {test_data}。请先按 docs/content-guide.md 准备 tests/nlu/test_data.yml。", file=sys.stderr)
        return 2
    started = time.monotonic()
    steps = 5 if options.cross_validation else 4
    progress(f"1/{steps} 准备模型（训练数据没变就直接复用已训练的模型）")
    model = options.model or current_model(paths, options.train)
    progress(f"    模型: {model}")
    progress(f"2/{steps} 用测试集 {paths.rel(test_data)} 评估（rasa test nlu）")
    rasa_dir = evaluate(model, test_data, out / "rasa", paths.root)
    labels = load_intent_labels(paths)
    summary, predictions = build_summary(rasa_dir, labels, model, test_data, fallback_threshold(paths))
    step = 3
    if options.cross_validation:
        progress(f"3/{steps} {options.folds} 折交叉验证（会训练 {options.folds} 个模型，较慢）")
        cv_dir = cross_validate(paths, options.folds, out / "cv")
        cv_report = read_json(cv_dir / "intent_report.json")
        if cv_report:
            cv_summary = summarize(cv_report, load_predictions(cv_dir), labels, None, paths.nlu_dir,
                                   fallback_threshold(paths))
            summary["cross_validation"] = {"folds": options.folds, **{k: cv_summary[k] for k in (
                "accuracy", "macro_f1", "weighted_f1", "n_test", "per_intent")}}
        step = 4
    progress(f"{step}/{steps} 画混淆矩阵、和上次结果比较")
    image = out / "confusion_matrix.png"
    plot_confusion_matrix(predictions, labels, image)
    baseline_path = options.baseline or out / "previous.json"
    summary["diff"] = diff(summary, read_json(baseline_path))
    summary["baseline"] = str(baseline_path) if summary["diff"] else None
    progress(f"{steps}/{steps} 写报告")
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    html = render_html(summary, out, image.name)
    shutil.copyfile(out / "summary.json", out / "previous.json")
    print_summary(summary, html, time.monotonic() - started)
    return 0


def print_summary(summary: Dict[str, Any], html: Path, seconds: float) -> None:
    print(f"\n准确率 {summary['accuracy'] * 100:.1f}%，宏平均 F1 {summary['macro_f1']:.3f}，"
          f"测试句 {summary['n_test']} 条，其中 {summary['fallback_count']} 条置信度低于回退阈值"
          f"（{summary['fallback_threshold']}，上线时机器人会说没听懂）。")
    weakest = sorted(((k, v) for k, v in summary["per_intent"].items() if v["support"]), key=lambda kv: kv[1]["f1"])[:5]
    if weakest:
        print("最弱的意图：" + "；".join(f"{v['label'] or k}（{k}）F1 {v['f1']:.2f}" for k, v in weakest))
    d = summary.get("diff")
    if d:
        print(f"与上次（{d['previous_created_at']}）相比：准确率 {d['accuracy_delta'] * 100:+.1f} 个百分点，"
              f"宏平均 F1 {d['macro_f1_delta']:+.3f}；变好 {len(d['better'])} 个意图，变差 {len(d['worse'])} 个。")
        for c in d["worse"][:5]:
            print(f"  变差: {c['label'] or c['intent']}（{c['intent']}）F1 {c['previous_f1']:.2f} -> {c['f1']:.2f}")
    else:
        print("这是第一次生成报告（没有上次的结果可比较）。")
    print(f"报告: {html}  （用时 {seconds:.0f} 秒）")
