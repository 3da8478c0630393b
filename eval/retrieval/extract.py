#!/usr/bin/env python3
"""Extracts the retrieval-evaluation corpus from the Jargon File's dictd data.

Reads the Debian `dict-jargon` package's files (`apt-get install dict-jargon`),
keeps entries whose cleaned definition is at least MIN_CHARS long, takes every
STEP-th of them in index order, and writes each as `corpus/<slug>.md`: a `# Term`
heading, the pronunciation and part of speech when given, then the definition
with its paragraphs re-flowed and `{cross references}` unbraced.

The output is deterministic: running it again rewrites the same files.

    python3 eval/retrieval/extract.py [--dict DIR] [--out DIR]
"""

import argparse
import gzip
import pathlib
import re
import shutil

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
MIN_CHARS = 200
STEP = 3


def b64_number(text):
    """A dictd index number (base 64, most significant digit first)."""
    n = 0
    for c in text:
        n = n * 64 + B64.index(c)
    return n


def read_entries(dict_dir):
    """(headword, raw entry text) in index order, database metadata skipped."""
    data = gzip.open(dict_dir / "jargon.dict.dz").read()
    entries = []
    for line in (dict_dir / "jargon.index").read_text(encoding="utf-8").splitlines():
        word, offset, length = line.split("\t")
        if word.startswith("00-database"):
            continue
        start, size = b64_number(offset), b64_number(length)
        entries.append((word, data[start : start + size].decode("utf-8")))
    return entries


def unbrace(text):
    """`{bit bucket}` becomes `bit bucket` (also when wrapped across lines)."""
    return re.sub(r"\{\s*([^{}]*?)\s*\}", lambda m: " ".join(m.group(1).split()), text)


def clean(raw):
    """(term, pronunciation line, Markdown body) of one raw dictd entry."""
    lines = raw.rstrip("\n").split("\n")
    term = lines[0].strip()
    pron = lines[1].strip() if len(lines) > 1 else ""
    pron = re.sub(r"^//,?\s*", "", pron).strip()
    paragraphs, current = [], []
    for line in lines[2:]:
        if line.strip():
            current.append(line)
        elif current:
            paragraphs.append(current)
            current = []
    if current:
        paragraphs.append(current)
    # The dictd file ends the last entry of each letter with that letter alone.
    while paragraphs and len(paragraphs[-1]) == 1 and len(paragraphs[-1][0].strip()) <= 1:
        paragraphs.pop()
    out = []
    for para in paragraphs:
        indents = {len(l) - len(l.lstrip(" ")) for l in para}
        if indents == {4}:
            out.append(" ".join(l.strip() for l in para))
        else:  # verse, code or a table: keep its lines
            out.append("\n".join(l[4:] if l.startswith("    ") else l.strip() for l in para))
    return term, pron, unbrace("\n\n".join(out))


def slug(term):
    s = re.sub(r"[^a-z0-9]+", "-", term.lower()).strip("-")
    return s or "entry"


def main():
    here = pathlib.Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dict", type=pathlib.Path, default=pathlib.Path("/usr/share/dictd"))
    parser.add_argument("--out", type=pathlib.Path, default=here / "corpus")
    args = parser.parse_args()

    substantive = []
    for _, raw in read_entries(args.dict):
        term, pron, body = clean(raw)
        if len(body) >= MIN_CHARS:
            substantive.append((term, pron, body))
    chosen = substantive[::STEP]

    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True)
    used, total = set(), 0
    for term, pron, body in chosen:
        name, n = slug(term), 2
        while name in used:
            name, n = f"{slug(term)}-{n}", n + 1
        used.add(name)
        text = f"# {term}\n\n" + (f"{pron}\n\n" if pron else "") + body + "\n"
        (args.out / f"{name}.md").write_text(text, encoding="utf-8")
        total += len(text.encode("utf-8"))
    print(f"{len(chosen)} of {len(substantive)} substantive entries, {total} bytes -> {args.out}")


if __name__ == "__main__":
    main()
