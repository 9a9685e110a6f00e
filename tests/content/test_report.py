"""`report`: figures read back from Rasa's own evaluation output; HTML, PNG and the diff."""
from __future__ import annotations

import json

import pytest

from bot.content.project import ProjectPaths
from bot.content.report import ReportOptions, build_summary, diff, plot_confusion_matrix, render_html, run_report

from tests.content.conftest import PROJECT_ROOT, real_nlu_files

LABELS = {"check_balance": "查询余额", "report_card_lost": "银行卡挂失、冻结", "greet": "打招呼"}


def _png_size(path):
    from PIL import Image

    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        return image.format, image.size


def _rasa_output(tmp_path):
    """Rasa's own evaluate_intents writes intent_report.json / errors / successes for these results."""
    from rasa.nlu.test import IntentEvaluationResult, evaluate_intents

    rows = [("查余额", "check_balance", "check_balance", 0.97), ("余额多少", "check_balance", "check_balance", 0.91),
            ("我卡里还有钱吗", "check_balance", "report_card_lost", 0.55),
            ("卡丢了", "report_card_lost", "report_card_lost", 0.99), ("挂失", "report_card_lost", "report_card_lost", 0.88),
            ("你好", "greet", "greet", 0.99), ("在吗在吗", "greet", "nlu_fallback", 0.45)]
    results = [IntentEvaluationResult(target, predicted, text, conf) for text, target, predicted, conf in rows]
    out = tmp_path / "rasa"
    out.mkdir()
    evaluate_intents(results, str(out), successes=True, errors=True, disable_plotting=True)
    return out


def test_summary_equals_rasa_report_and_diff_and_html(tmp_path):
    rasa_dir = _rasa_output(tmp_path)
    rasa_report = json.loads((rasa_dir / "intent_report.json").read_text())
    summary, predictions = build_summary(rasa_dir, LABELS, None, None)
    assert summary["accuracy"] == rasa_report["accuracy"]
    assert summary["macro_f1"] == rasa_report["macro avg"]["f1-score"]
    for intent in ("check_balance", "report_card_lost", "greet"):
        assert summary["per_intent"][intent]["f1"] == rasa_report[intent]["f1-score"]
        assert summary["per_intent"][intent]["recall"] == rasa_report[intent]["recall"]
    assert summary["per_intent"]["check_balance"]["label"] == "查询余额"
    assert summary["n_test"] == 7 and summary["fallback_count"] == 1  # the nlu_fallback prediction
    top = summary["top_confusions"][0]
    assert (top["intent"], top["predicted"], top["count"]) in {("check_balance", "report_card_lost", 1),
                                                              ("greet", "nlu_fallback", 1)}

    previous = json.loads(json.dumps(summary))
    previous["per_intent"]["check_balance"]["f1"] = 0.2  # was worse
    previous["per_intent"]["greet"]["f1"] = 1.0  # was better
    previous["per_intent"]["old_intent"] = {"label": "", "precision": 1, "recall": 1, "f1": 1, "support": 3}
    del previous["per_intent"]["report_card_lost"]
    changes = diff(summary, previous)
    assert [c["intent"] for c in changes["better"]] == ["check_balance"]
    assert [c["intent"] for c in changes["worse"]] == ["greet"]
    assert changes["worse"][0]["delta"] == pytest.approx(summary["per_intent"]["greet"]["f1"] - 1.0)
    assert [c["intent"] for c in changes["new"]] == ["report_card_lost"]
    assert [c["intent"] for c in changes["removed"]] == ["old_intent"]

    summary["diff"] = changes
    image = tmp_path / "confusion_matrix.png"
    names = plot_confusion_matrix(predictions, LABELS, image)
    assert "nlu_fallback" in names
    fmt, (width, height) = _png_size(image)
    assert fmt == "PNG" and 300 < width < 5000 and 300 < height < 5000
    html = render_html(summary, tmp_path, image.name).read_text(encoding="utf-8")
    for needle in ("查询余额", "confusion_matrix.png", "变差的意图", "变好的意图", "我卡里还有钱吗", "old_intent"):
        assert needle in html


@pytest.mark.uses_model
@pytest.mark.timeout(3600)
@pytest.mark.skipif(not real_nlu_files() or not (PROJECT_ROOT / "tests" / "nlu" / "test_data.yml").exists()
                    or not (PROJECT_ROOT / "domain.yml").exists(),
                    reason="real NLU data, domain.yml or tests/nlu/test_data.yml not written yet")
def test_report_on_the_real_model(tmp_path):
    from bot import model_cache

    model = model_cache.ensure_trained()  # reuses the trained model when training inputs are unchanged
    out = tmp_path / "nlu"
    out.mkdir()
    # A previous run in which check_balance was poor: the report must show it got better.
    (out / "previous.json").write_text(json.dumps({
        "created_at": "2000-01-01T00:00:00", "model": "old", "n_test": 1, "accuracy": 0.0, "macro_f1": 0.0,
        "per_intent": {"check_balance": {"label": "查询余额", "precision": 0, "recall": 0, "f1": 0.0, "support": 5}}}))
    options = ReportOptions(paths=ProjectPaths(PROJECT_ROOT), out_dir=out, model=model)
    assert run_report(options) == 0

    rasa_report = json.loads((out / "rasa" / "intent_report.json").read_text())
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["accuracy"] == rasa_report["accuracy"]
    assert summary["macro_f1"] == rasa_report["macro avg"]["f1-score"]
    assert summary["weighted_f1"] == rasa_report["weighted avg"]["f1-score"]
    for intent, figures in summary["per_intent"].items():
        assert figures["precision"] == rasa_report[intent]["precision"]
        assert figures["recall"] == rasa_report[intent]["recall"]
        assert figures["f1"] == rasa_report[intent]["f1-score"]
        assert figures["support"] == rasa_report[intent]["support"]
    assert summary["per_intent"]["check_balance"]["label"] == "查询余额"  # from data/knowledge/intents.yml
    assert summary["n_test"] == int(rasa_report["weighted avg"]["support"])
    assert 0.5 < summary["accuracy"] <= 1.0  # a sanity floor, not a quality target

    fmt, (width, height) = _png_size(out / "confusion_matrix.png")
    assert fmt == "PNG" and 600 < width < 6000 and 600 < height < 6000
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "confusion_matrix.png" in html and "查询余额" in html
    assert summary["diff"]["better"][0]["intent"] == "check_balance"
    assert json.loads((out / "previous.json").read_text(encoding="utf-8"))["created_at"] == summary["created_at"]
