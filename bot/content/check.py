"""`check`: Rasa's own validator plus the project's lint, in seconds.

Rasa is run only on the folders it trains from (data/nlu, data/stories, data/rules): the
`data` root also holds data/knowledge and data/lexicon, which are not Rasa files.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from bot.content.lint import ERROR, WARNING, Issue, run_lint
from bot.content.project import ProjectPaths

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+(WARNING|ERROR)\s+(\S+)\s+-\s+(.*)$")
_EXCEPTION_START = re.compile(r"^[A-Za-z_.]*(Exception|Error): ")
# Our lint reports unused responses more accurately (it also reads actions/*.py and forms).
_RASA_DUPLICATED_BY_LINT = re.compile(r"The utterance '\w+' is not used in any story or rule")


@dataclass
class RasaValidation:
    returncode: int
    problems: List[str] = field(default_factory=list)
    skipped: bool = False

    @property
    def ok(self) -> bool:
        return self.skipped or self.returncode == 0


@dataclass
class CheckResult:
    issues: List[Issue]
    rasa: RasaValidation
    seconds: float

    @property
    def errors(self) -> List[Issue]:
        return [i for i in self.issues if i.severity == ERROR]

    @property
    def warnings(self) -> List[Issue]:
        return [i for i in self.issues if i.severity == WARNING]

    @property
    def ok(self) -> bool:
        return not self.errors and self.rasa.ok

    def as_dict(self) -> Dict[str, Any]:
        return {
            "ok": self.ok,
            "errors": [i.as_dict() for i in self.errors],
            "warnings": [i.as_dict() for i in self.warnings],
            "rasa_validate": {"returncode": self.rasa.returncode, "skipped": self.rasa.skipped,
                              "problems": self.rasa.problems},
            "seconds": round(self.seconds, 1),
        }


def start_rasa_validate(paths: ProjectPaths) -> subprocess.Popen:
    data = [str(p.relative_to(paths.root)) for p in paths.training_dirs if p.exists()]
    command = [sys.executable, "-m", "rasa", "data", "validate", "--data", *data,
               "--domain", str(paths.domain.relative_to(paths.root))]
    config = paths.root / "config.yml"
    if config.exists():
        command += ["--config", "config.yml"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "RASA_TELEMETRY_ENABLED": "false", "PYTHONWARNINGS": "ignore::DeprecationWarning",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ProjectPaths().root), os.environ.get("PYTHONPATH")]))}
    return subprocess.Popen(command, cwd=paths.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)


def finish_rasa_validate(proc: subprocess.Popen) -> RasaValidation:
    stdout, stderr = proc.communicate()
    problems = _rasa_messages(stdout + "\n" + stderr)
    if proc.returncode != 0 and not problems:
        problems = [line for line in _ANSI.sub("", stderr).splitlines() if line.strip()][-15:]
    return RasaValidation(proc.returncode, problems)


def _rasa_messages(output: str) -> List[str]:
    """The validator's findings, without Python/TensorFlow/telemetry noise."""
    messages: List[str] = []
    block: Optional[List[str]] = None
    for line in _ANSI.sub("", output).splitlines():
        if block is not None:
            if line.startswith("/") or _LOG_LINE.match(line) or not line.strip():
                messages.append("\n      ".join(block))
                block = None
            else:
                block.append(line.rstrip())
                continue
        if "UserWarning: " in line:
            messages.append(line.split("UserWarning: ", 1)[1].strip())
        elif _LOG_LINE.match(line):
            level, logger, text = _LOG_LINE.match(line).groups()
            if not logger.startswith("urllib3"):
                messages.append(f"{level}: {text}")
        elif _EXCEPTION_START.match(line):
            block = [line.strip()]
    if block:
        messages.append("\n      ".join(block))
    return [m for m in messages if not _RASA_DUPLICATED_BY_LINT.search(m)]


def run_check(paths: ProjectPaths, with_rasa: bool = True, **lint_options: Any) -> CheckResult:
    started = time.monotonic()
    proc = start_rasa_validate(paths) if with_rasa else None  # runs while we lint
    issues = run_lint(paths, **lint_options)
    rasa = finish_rasa_validate(proc) if proc else RasaValidation(0, skipped=True)
    return CheckResult(issues, rasa, time.monotonic() - started)


def format_result(result: CheckResult) -> str:
    lines: List[str] = []
    if result.rasa.skipped:
        lines.append("Rasa 自带校验：已跳过（--no-rasa）")
    elif result.rasa.ok:
        lines.append("Rasa 自带校验（rasa data validate）：通过")
        if result.rasa.problems:
            lines.append("  Rasa 给出的提示：")
            lines.extend(f"    {p}" for p in result.rasa.problems)
    else:
        lines.append(f"Rasa 自带校验（rasa data validate）：失败（退出码 {result.rasa.returncode}）。Rasa 的原始提示：")
        lines.extend(f"    {p}" for p in result.rasa.problems)
    lines.append("")
    for title, group in (("错误", result.errors), ("警告", result.warnings)):
        lines.append(f"{title}（{len(group)} 条）" + ("：" if group else ""))
        for issue in group:
            lines.append(f"  {issue.location()}  [{issue.code}] {issue.message}")
        lines.append("")
    verdict = "通过" if result.ok else "未通过：请先修正上面的错误"
    lines.append(f"检查结果：{verdict}（{len(result.errors)} 个错误，{len(result.warnings)} 个警告，"
                 f"用时 {result.seconds:.1f} 秒）")
    return "\n".join(lines)


def print_result(result: CheckResult, as_json: bool = False) -> None:
    if as_json:
        print(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
    else:
        print(format_result(result))
