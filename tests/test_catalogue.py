"""Every word said to users is in the catalogue (flows/texts/, its README.md): no code holds
user-facing Chinese. Read from the source (an AST scan): a string constant with a CJK character
anywhere in flows/, handlers/ or bot/ fails, f-strings' literal parts included; docstrings and
comments may quote Chinese freely. What is scanned, what is not and why, is listed here."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("flows", "handlers", "bot")

# Whole modules or folders left out, each for its reason: none of them says anything to a user.
EXEMPT = {
    "flows/texts/": "the catalogue itself",
    "flows/understanding/": "the reading layer: its grammar (numerals, particles, cues in patterns) is how "
                            "Chinese is read, not what is said; its vocabularies are data (lexicon/*.toml)",
    "flows/diagram.py": "writes the developers' documentation (docs/flows/*.md), never a reply",
    "bot/simulator/": "the stand-in for WeChat, for development: its page, the terminal chat's frame, the "
                      "field names it shows on a template card (WeChat's console has the real ones)",
    "bot/cli/": "the wxbot command speaks to operators and developers: `wxbot say`'s stand-in user says 你好, "
                "`wxbot sandbox spend` records a stand-in bureau's place, deploy names a field of WeChat's console",
    "bot/metrics.py": "help texts for operators, quoting what users type",
    "bot/binding/errors.py": "the bureau's error codes with English messages between machines; users read "
                             "flows/texts/refusals.py",
    "bot/binding/openapi.py": "the bureau API's document (docs/binding-api.yaml)",
}
# One string in a scanned module that no user reads says so on its line: `# not wording: <why>`.
MARKER = re.compile(r"#\s*not wording:\s*(\S.*)?$")
CJK = re.compile("[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef\U00020000-\U0002fa1f]")


def modules() -> list[Path]:
    found = [path for folder in SCANNED for path in sorted((ROOT / folder).rglob("*.py"))]
    return [path for path in found if not any(_relative(path).startswith(prefix) for prefix in EXEMPT)]


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _docstrings(tree: ast.AST) -> set[int]:
    owners = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    return {id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, owners) and node.body and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant) and isinstance(node.body[0].value.value, str)}


def _marked_lines(source: str) -> dict[int, str]:
    """Line → the reason its `# not wording:` comment gives ("" when it gives none)."""
    marked = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT and (match := MARKER.search(token.string)):
            marked[token.start[0]] = (match.group(1) or "").strip()
    return marked


def chinese_in_code(source: str, name: str) -> list[str]:
    """Each string constant with a CJK character, as `name:line: 'text'`, unless it is a docstring
    or its lines carry a reasoned `# not wording:` comment."""
    tree = ast.parse(source)
    docstrings, marked = _docstrings(tree), _marked_lines(source)
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str) and CJK.search(node.value)):
            continue
        if id(node) in docstrings:
            continue
        reasons = [marked[line] for line in range(node.lineno, (node.end_lineno or node.lineno) + 1) if line in marked]
        if reasons and all(reasons):
            continue
        found.append(f"{name}:{node.lineno}: {node.value[:40]!r}"
                     + (" (`# not wording:` needs its reason)" if reasons else ""))
    return found


@pytest.mark.parametrize("path", modules(), ids=_relative)
def test_code_holds_no_user_facing_chinese(path: Path) -> None:
    """Words users read belong in flows/texts/ (flows/texts/README.md: how to add one); words users
    write belong in flows/understanding/lexicon/."""
    assert chinese_in_code(path.read_text(encoding="utf-8"), _relative(path)) == []


def test_the_scan_covers_the_code_it_should() -> None:
    scanned = {_relative(path) for path in modules()}
    for must in ("flows/engine.py", "flows/bind_member.py", "flows/members.py", "flows/domain/refusals.py",
                 "handlers/router.py", "bot/menu.py", "bot/notify/templates.py", "bot/webhook/processing.py"):
        assert must in scanned
    for prefix in EXEMPT:
        assert (ROOT / prefix).exists(), f"{prefix} is exempt but no longer exists"


def test_the_scan_finds_what_it_should() -> None:
    sample = ('"""文档。"""\n'
              'def f(x):\n    """说明。"""\n    return f"{x}，起"  # 注释\n'
              'A = "办理"\n'
              'B = "、"  # not wording:\n'
              'C = ("「"  # not wording: an operator\'s message\n'
              '     "」")\n'
              'D = "“plain” …"\n')
    assert sorted(chinese_in_code(sample, "sample.py")) == [
        "sample.py:4: '，起'", "sample.py:5: '办理'", "sample.py:6: '、' (`# not wording:` needs its reason)"]
