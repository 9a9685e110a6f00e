"""Wrap-up (issue 15 item 4): a disposition on close, follow-up tasks, the per-queue report."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import requests


def _claimed(desk, queue: str = "general", username: str = "agent1") -> str:
    hid = desk.register(queue=queue)["id"]
    assert desk.post(f"/api/handoffs/{hid}/claim", username=username).status_code == 200
    return hid


def test_a_follow_up_needs_a_due_time_and_becomes_a_task_the_supervisor_sees(make_desk) -> None:
    desk = make_desk()
    hid = _claimed(desk)
    missing = desk.post(f"/api/handoffs/{hid}/close", {"disposition": "follow_up"})
    assert missing.status_code == 422 and missing.json()["error"]["code"] == "follow_up_due_required"
    past = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()
    assert desk.post(f"/api/handoffs/{hid}/close", {"disposition": "follow_up", "follow_up_due": past}).status_code == 422
    assert desk.get(f"/api/handoffs/{hid}").json()["status"] == "active"  # nothing was closed

    due = (datetime.now(timezone.utc) + timedelta(hours=4)).isoformat()
    closed = desk.post(f"/api/handoffs/{hid}/close", {"disposition": "follow_up", "follow_up_due": due,
                                                      "follow_up_note": "明天回电 13812345678 说明处理结果"})
    assert closed.status_code == 200 and closed.json()["disposition"] == "follow_up"

    [task] = desk.get("/api/tasks", username="supervisor1").json()
    assert task["handoff_id"] == hid and task["created_by"] == "agent1" and task["overdue"] is False
    assert "13812345678" not in task["note"] and "138****5678" in task["note"]
    assert [t["id"] for t in desk.get("/api/tasks", username="agent1").json()] == [task["id"]]
    assert desk.get("/api/tasks", username="agent2").json() == []  # not theirs
    assert desk.post(f"/api/tasks/{task['id']}/done", username="agent2").status_code == 404
    done = desk.post(f"/api/tasks/{task['id']}/done", username="supervisor1").json()
    assert done["done_by"] == "supervisor1" and desk.get("/api/tasks", username="supervisor1").json() == []


def test_the_report_counts_handled_waits_csat_and_dispositions_per_queue(make_desk) -> None:
    desk = make_desk()
    for disposition, rating in (("solved", 5), ("solved", 3), ("complaint_registered", None)):
        hid = _claimed(desk, queue="cards")
        desk.post(f"/api/handoffs/{hid}/close", {"disposition": disposition})
        if rating:
            requests.post(f"{desk.url}/internal/handoffs/{hid}/rating", json={"rating": rating},
                          headers=desk.service_headers, timeout=10).raise_for_status()
    desk.post(f"/api/handoffs/{_claimed(desk)}/close", {})  # no disposition given
    desk.register(queue="loans")  # still waiting: not handled

    report = desk.get("/api/report", username="supervisor1").json()
    queues = {q["queue"]: q for q in report["queues"]}
    cards = queues["cards"]
    assert cards["label"] == "信用卡" and cards["handled"] == 3 and cards["rated"] == 2 and cards["csat"] == 4.0
    assert cards["dispositions"] == {"solved": 2, "complaint_registered": 1}
    assert cards["median_wait_seconds"] >= 0 and cards["median_handling_seconds"] >= 0
    assert queues["general"]["dispositions"] == {"unknown": 1}
    assert queues["loans"]["handled"] == 0 and queues["loans"]["csat"] is None
    assert desk.get("/api/report", username="agent1").status_code == 403  # supervisors only
