"""The README and docs/: every shell example works when pasted against a live server, every relative link resolves."""

import json
import os
import re
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from live_server import ROOT, LiveServer

README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
ADMIN_PASSWORD = "a long admin password"
# `NAME=value  # comment` lines: the reader sets these from what the server printed or answered.
ASSIGNMENT = re.compile(r"^(?:[A-Z_]+=\S+\s*)+(?:#.*)?$")


def indented_blocks(text):
    """Return the README's indented code blocks, each as its lines without the indent."""
    blocks, current = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("    ") and (current or not line.startswith("     ")):
            current.append(line[4:])
        elif current:
            blocks.append(current)
            current = []
    return blocks


def shell_examples():
    """Return the README's blocks that call curl: (script without comments or placeholders, documented answer)."""
    found = []
    for block in indented_blocks(README.read_text()):
        if not any(line.startswith("curl ") for line in block):
            continue
        script = [line for line in block if not line.startswith("#") and not ASSIGNMENT.match(line)]
        answer = " ".join(line[1:] for line in block if line.startswith("#"))
        found.append(("\n".join(script), answer))
    return found


@pytest.fixture(scope="module")
def server(db_engine, tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("server"), ADMIN_PASSWORD=ADMIN_PASSWORD).start()
    yield live
    live.stop()


def run(script, server, variables):
    """Run script with bash as pasted, against server; return what it printed."""
    pasted = script.replace("http://localhost:8080", server.url).replace("curl ", "curl -sS --fail-with-body ")
    done = subprocess.run(["bash", "-e", "-c", pasted], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **variables})
    assert done.returncode == 0, f"{pasted}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def answers(output):
    """Return the JSON values printed one after the other."""
    decoder, found, index = json.JSONDecoder(), [], 0
    while index < len(output.strip()):
        value, index = decoder.raw_decode(output, index)
        found.append(value)
        while index < len(output) and output[index].isspace():
            index += 1
    return found


def test_the_readme_has_its_examples():
    assert len(shell_examples()) >= 7


def test_every_shell_example_of_the_readme_works_when_pasted(server):
    variables = {"KEY": server.first_run_key(), "PASSWORD": ADMIN_PASSWORD}
    examples = shell_examples()
    # Deleting the agent comes last, as it would for a reader trying every example on one agent.
    ordered = [e for e in examples if "-X DELETE" not in e[0]] + [e for e in examples if "-X DELETE" in e[0]]
    for script, documented in ordered:
        printed = answers(run(script, server, variables))
        assert printed, script
        for key in re.findall(r'"(\w+)":', documented):
            assert key in json.dumps(printed), (key, script, printed)
        first = printed[0]
        if isinstance(first, dict) and "agentId" in first and "token" in first:  # a registration
            variables.update(AGENT=first["agentId"], TOKEN=first["token"])
        if isinstance(first, dict) and "expiresIn" in first:
            variables["USER_TOKEN"] = first["token"]
        if "/metrics" in script:
            assert first["points"], script  # the pushed sample is inside the range the example asks for
    assert {"AGENT", "TOKEN", "USER_TOKEN"} <= set(variables)


def relative_links(path):
    """Return the relative link targets of a Markdown file, with their anchors."""
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    found = re.findall(r"\[[^\]]*\]\(([^)\s]+)\)", text)
    return [link for link in found if not urlsplit(link).scheme and not link.startswith("mailto:")]


def anchors(path):
    """Return the anchors GitHub makes of a Markdown file's headings."""
    made = set()
    for heading in re.findall(r"^#+ (.+)$", path.read_text(), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        made.add(slug)
    return made


@pytest.mark.parametrize("document", [README, *DOCS], ids=lambda path: path.name)
def test_every_relative_link_resolves(document):
    links = relative_links(document)
    for link in links:
        target, _, anchor = link.partition("#")
        resolved = (document.parent / unquote(target)).resolve() if target else document
        assert resolved.exists(), f"{document.name}: {link} does not exist"
        if anchor and resolved.suffix == ".md":
            assert anchor in anchors(resolved), f"{document.name}: {link} has no such heading"


def test_the_references_are_linked_from_the_readme():
    linked = {Path(link.partition("#")[0]).name for link in relative_links(README)}
    assert {"api.md", "push-payload.md", "configuration.md"} <= linked


def test_every_setting_is_in_the_configuration_reference():
    from kubewatch.config import DEFAULTS
    reference = (ROOT / "docs" / "configuration.md").read_text()
    assert [name for name in DEFAULTS if f"| `{name.lower()}` |" not in reference] == []
