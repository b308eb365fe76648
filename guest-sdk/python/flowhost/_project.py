"""Build-time helper (runs natively, not in the component): reads a Jina
hub-style project (``executor.py``, ``config.yml``), stages it and writes the
componentize-py app module that exports its executor.

    python3 -m flowhost._project <project-dir> <stage-dir>

leaves ``<stage-dir>/project`` (the project's sources), ``<stage-dir>/sdk``
(this package) and ``<stage-dir>/app/flowhost_app.py``.
"""

import json
import os
import re
import shutil
import sys

APP_MODULE = "flowhost_app"
_SKIP_DIRS = {"build", ".git", "__pycache__", ".venv", "venv", "node_modules", ".mypy_cache", ".pytest_cache"}
_SKIP_SUFFIXES = (".wasm", ".pyc", ".cwasm")


class ProjectError(Exception):
    pass


# -- a small YAML subset: enough for Jina's config.yml ---------------------------


def _strip_comment(line):
    out = []
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            break
        out.append(ch)
    return "".join(out).rstrip()


_INT = re.compile(r"^[-+]?(0|[1-9][0-9_]*)$")
_FLOAT = re.compile(r"^[-+]?(\d[\d_]*)?\.?\d*([eE][-+]?\d+)?$")


def _scalar(text):
    t = text.strip()
    if not t:
        return None
    if t[0] in "[{":
        value, rest = _flow(t, 0)
        if t[rest:].strip():
            raise ProjectError("cannot parse %r" % text)
        return value
    if t[0] in "'\"":
        return _quoted(t)
    low = t.lower()
    if low in ("null", "~"):
        return None
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    if low in (".inf", "+.inf"):
        return float("inf")
    if low == "-.inf":
        return float("-inf")
    if low == ".nan":
        return float("nan")
    if _INT.match(t):
        return int(t.replace("_", ""))
    if any(c.isdigit() for c in t) and _FLOAT.match(t):
        try:
            return float(t.replace("_", ""))
        except ValueError:
            pass
    return t


def _quoted(t):
    q = t[0]
    if not t.endswith(q) or len(t) < 2:
        raise ProjectError("unterminated string %r" % t)
    body = t[1:-1]
    if q == "'":
        return body.replace("''", "'")
    return json.loads('"' + body + '"')


def _flow(s, i):
    """Parses a flow collection or scalar at s[i:]; returns (value, next index)."""
    while i < len(s) and s[i] in " \t":
        i += 1
    if i < len(s) and s[i] in "[{":
        close = "]" if s[i] == "[" else "}"
        is_map = s[i] == "{"
        out = {} if is_map else []
        i += 1
        while True:
            while i < len(s) and s[i] in " \t,":
                i += 1
            if i >= len(s):
                raise ProjectError("unterminated %r in %r" % (close, s))
            if s[i] == close:
                return out, i + 1
            if is_map:
                key, i = _flow_scalar(s, i, ":")
                if i >= len(s) or s[i] != ":":
                    raise ProjectError("expected ':' in %r" % s)
                value, i = _flow(s, i + 1)
                out[str(key)] = value
            else:
                value, i = _flow(s, i)
                out.append(value)
    return _flow_scalar(s, i, ",]}")


def _flow_scalar(s, i, stops):
    while i < len(s) and s[i] in " \t":
        i += 1
    if i < len(s) and s[i] in "'\"":
        q = s[i]
        j = i + 1
        while j < len(s):
            if s[j] == q:
                if q == "'" and j + 1 < len(s) and s[j + 1] == "'":
                    j += 2
                    continue
                break
            if s[j] == "\\" and q == '"':
                j += 1
            j += 1
        return _quoted(s[i:j + 1]), j + 1
    j = i
    while j < len(s) and s[j] not in stops:
        j += 1
    return _scalar(s[i:j]), j


def _split_key(content):
    """'key: value' -> (key, value text) or None if not a mapping line."""
    if content[0] in "'\"":
        q = content[0]
        end = content.find(q, 1)
        if end > 0 and content[end + 1:end + 2] == ":" and (len(content) == end + 2 or content[end + 2] in " \t"):
            return _quoted(content[:end + 1]), content[end + 2:]
        return None
    m = re.match(r"^([^:\[\]{},]+?):(\s+|$)", content)
    if m:
        return m.group(1).strip(), content[m.end():]
    return None


def load_yaml(text):
    lines = []
    for raw in text.splitlines():
        if raw.strip() in ("---", "..."):
            continue
        stripped = _strip_comment(raw)
        if not stripped.strip():
            lines.append((None, raw))
            continue
        indent = len(stripped) - len(stripped.lstrip(" "))
        lines.append((indent, stripped.strip(), raw))
    pos = [0]

    def skip_blank():
        while pos[0] < len(lines) and lines[pos[0]][0] is None:
            pos[0] += 1

    def block_scalar(indicator, parent_indent):
        collected = []
        block_indent = None
        while pos[0] < len(lines):
            entry = lines[pos[0]]
            raw = entry[-1]
            ind = len(raw) - len(raw.lstrip(" "))
            if raw.strip() and ind <= parent_indent:
                break
            if raw.strip() and block_indent is None:
                block_indent = ind
            collected.append(raw[block_indent or 0:] if raw.strip() else "")
            pos[0] += 1
        while collected and not collected[-1]:
            collected.pop()
        if indicator.startswith(">"):
            return " ".join(collected) + ("\n" if "-" not in indicator else "")
        return "\n".join(collected) + ("\n" if "-" not in indicator else "")

    def value_after(text, indent):
        """The value for 'key:' or '-' followed by text (maybe empty)."""
        text = text.strip()
        if text and text[0] in "|>":
            return block_scalar(text, indent)
        if text and text.startswith("!"):  # a tag like !MyExec: drop it
            text = text.split(None, 1)[1] if " " in text else ""
        if text:
            return _scalar(text)
        skip_blank()
        if pos[0] < len(lines) and lines[pos[0]][0] > indent:
            return block(lines[pos[0]][0])
        if pos[0] < len(lines) and lines[pos[0]][0] == indent and lines[pos[0]][1].startswith("- "):
            return block(indent)  # a list at the same indent as its key
        return None

    def block(indent):
        skip_blank()
        first = lines[pos[0]][1]
        if first == "-" or first.startswith("- "):
            out = []
            while True:
                skip_blank()
                if pos[0] >= len(lines) or lines[pos[0]][0] != indent:
                    return out
                content = lines[pos[0]][1]
                if not (content == "-" or content.startswith("- ")):
                    return out
                rest = content[1:].lstrip()
                item_indent = indent + (len(content) - len(rest))
                if rest and _split_key(rest) and not rest.startswith(("[", "{")):
                    # "- key: value" starts a mapping at the item's indent
                    lines[pos[0]] = (item_indent, rest, lines[pos[0]][-1])
                    out.append(block(item_indent))
                else:
                    pos[0] += 1
                    out.append(value_after(rest, indent))
        out = {}
        while True:
            skip_blank()
            if pos[0] >= len(lines) or lines[pos[0]][0] != indent:
                return out
            content = lines[pos[0]][1]
            kv = _split_key(content)
            if kv is None:
                if content.startswith("!") and not out:
                    out["jtype"] = content[1:].split()[0]
                    pos[0] += 1
                    continue
                raise ProjectError("cannot parse line %r" % content)
            pos[0] += 1
            out[str(kv[0])] = value_after(kv[1], indent)

    skip_blank()
    if pos[0] >= len(lines):
        return {}
    result = block(lines[pos[0]][0])
    skip_blank()
    if pos[0] < len(lines):
        raise ProjectError("cannot parse line %r" % lines[pos[0]][1])
    return result


# -- the project ---------------------------------------------------------------------


def read_config(project):
    for name in ("config.yml", "config.yaml"):
        path = os.path.join(project, name)
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                try:
                    config = load_yaml(f.read())
                except ProjectError as err:
                    raise ProjectError("%s: %s" % (path, err)) from None
            if not isinstance(config, dict):
                raise ProjectError("%s must be a mapping" % path)
            return config
    return {}


def module_names(project, config):
    metas = config.get("metas") if isinstance(config.get("metas"), dict) else {}
    py_modules = config.get("py_modules", metas.get("py_modules"))
    if py_modules is None:
        if not os.path.exists(os.path.join(project, "executor.py")):
            raise ProjectError("%s has no executor.py (and config.yml lists no py_modules)" % project)
        return ["executor"]
    if isinstance(py_modules, str):
        py_modules = [py_modules]
    names = []
    for path in py_modules:
        path = os.path.normpath(str(path))
        if not os.path.exists(os.path.join(project, path)):
            raise ProjectError("py_modules lists %s, which is not in %s" % (path, project))
        if path.endswith(".py"):
            path = path[:-3]
        if path.endswith(os.sep + "__init__"):
            path = path[: -len("__init__") - 1]
        if path.startswith("..") or os.path.isabs(path):
            raise ProjectError("py_modules must be inside the project: %s" % path)
        names.append(path.replace(os.sep, "."))
    return names


def _ignore(directory, names):
    return [
        n
        for n in names
        if (n in _SKIP_DIRS and os.path.isdir(os.path.join(directory, n))) or n.endswith(_SKIP_SUFFIXES)
    ]


def stage(project, out):
    project = os.path.abspath(project)
    if not os.path.isdir(project):
        raise ProjectError("%s is not a directory" % project)
    config = read_config(project)
    jtype = config.get("jtype")
    if jtype is not None and not isinstance(jtype, str):
        raise ProjectError("config.yml: jtype must be a class name")
    defaults = config.get("with") or {}
    if not isinstance(defaults, dict):
        raise ProjectError("config.yml: `with` must be a mapping")
    modules = module_names(project, config)
    shutil.copytree(project, os.path.join(out, "project"), ignore=_ignore)
    sdk = os.path.dirname(os.path.abspath(__file__))
    shutil.copytree(sdk, os.path.join(out, "sdk", "flowhost"), ignore=_ignore)
    os.makedirs(os.path.join(out, "app"), exist_ok=True)
    with open(os.path.join(out, "app", APP_MODULE + ".py"), "w", encoding="utf-8") as f:
        f.write(
            "# Generated by flowhost build: exports the executor of %s.\n"
            "import json\n"
            "from flowhost._component import export\n\n"
            "Executor = export(%r, %r, json.loads(%r))\n" % (os.path.basename(project), modules, jtype, json.dumps(defaults))
        )


def main(argv):
    if len(argv) != 2:
        print("usage: python3 -m flowhost._project <project-dir> <stage-dir>", file=sys.stderr)
        return 2
    try:
        stage(argv[0], argv[1])
    except (ProjectError, OSError) as err:
        print("flowhost: %s" % err, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
