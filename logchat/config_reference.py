"""docs/configuration.md, generated from the settings model (logchat/config.py).

Every key, its environment variable, type, default and the comment written above it in the model,
so the reference cannot fall behind the code: tests/deploy/test_config_reference.py compares this
module's output with the file. Regenerate with ``python -m logchat.config_reference --write``.
"""

from __future__ import annotations

import ast
import inspect
import sys
import textwrap
import types
import typing
from pathlib import Path
from typing import Any, Literal

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from logchat.config import Settings

DOC_PATH = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"
ENV_PREFIX = "LOGCHAT_"
# Defaults computed from the machine the docs would be generated on: described instead.
_DESCRIBED_DEFAULTS = {"data_dir": "`$XDG_DATA_HOME/logchat` (`~/.local/share/logchat`)"}

_HEADER = """\
# Configuration reference

<!-- Generated from logchat/config.py by `python -m logchat.config_reference --write`; do not edit. -->

Every setting, with its default. Precedence: defaults < `logchat.toml` < `LOGCHAT_*` environment
variables < command-line flags. The file is found through `--config`, `$LOGCHAT_CONFIG`,
`./logchat.toml`, then `$XDG_CONFIG_HOME/logchat/logchat.toml`;
[`logchat.toml.example`](../logchat.toml.example) shows it with every key.

In the environment a key is `LOGCHAT_` followed by its path in capitals with `__` between levels:
`[auth] jwt_secret` is `LOGCHAT_AUTH__JWT_SECRET`. Lists and tables are given as JSON
(`LOGCHAT_SERVE__CORS_ORIGINS='["https://ops.example.com"]'`). A wrong key or value is reported as one
line naming the key path, with exit code 2.
"""


def render() -> str:
    """The whole reference as Markdown."""
    top_level: list[tuple[str, FieldInfo]] = []
    sections: list[str] = []
    comments = _comments(Settings)
    for name, field in Settings.model_fields.items():
        if field.exclude:
            continue
        model = _model_in(field.annotation)
        if model is None:
            top_level.append((name, field))
        elif typing.get_origin(field.annotation) is list:
            sections.append(_section(f"[[{name}]]", model, (name,), list_of=True, intro=comments.get(name, "")))
        else:
            sections.append(_section(f"[{name}]", model, (name,), intro=comments.get(name, "")))
    parts = [_HEADER, _table(Settings, (), [name for name, _ in top_level], title="## Top level"), *sections]
    return "\n".join(part.rstrip("\n") + "\n" for part in parts)


def _section(title: str, model: type[BaseModel], path: tuple[str, ...], *, list_of: bool = False,
             intro: str = "") -> str:
    lines = [intro or _docstring(model)]
    if list_of:
        env = ENV_PREFIX + path[0].upper()
        lines.append(f"A list of tables with the keys below; in the environment, the whole list as JSON in `{env}`.")
    body = "\n\n".join(line for line in lines if line)
    return _table(model, () if list_of else path, list(model.model_fields), title=f"## `{title}`", intro=body,
                  env=not list_of)


def _table(model: type[BaseModel], path: tuple[str, ...], names: list[str], *, title: str, intro: str = "",
           env: bool = True) -> str:
    comments = _comments(model)
    out = [title, ""]
    if intro:
        out += [intro, ""]
    out += ["| Key | Environment variable | Type | Default | Meaning |", "|---|---|---|---|---|"]
    for name in names:
        field = model.model_fields[name]
        key_path = (*path, name)
        variable = f"`{ENV_PREFIX}{'__'.join(key_path).upper()}`" if env else ""
        cells = [f"`{name}`", variable, _type_text(field), _default_text(name, field), comments.get(name, "")]
        out.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(out) + "\n"


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        model = _model_in(arg)
        if model is not None:
            return model
    return None


def _comments(model: type[BaseModel]) -> dict[str, str]:
    """The comment lines written right above each field in the class body, joined into one sentence."""
    source = textwrap.dedent(inspect.getsource(model))
    lines = source.splitlines()
    found: dict[str, str] = {}
    (class_node,) = ast.parse(source).body
    assert isinstance(class_node, ast.ClassDef)
    for node in class_node.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            above: list[str] = []
            index = node.lineno - 2
            while index >= 0 and lines[index].strip().startswith("#"):
                above.insert(0, lines[index].strip().lstrip("#").strip())
                index -= 1
            found[node.target.id] = _for_readers(" ".join(above))
    return found


def _for_readers(comment: str) -> str:
    # The model's comments speak Python ("None: ..."); a reader of the file sets or leaves a key unset.
    # "<data_dir>" would read as an HTML tag in Markdown.
    for python, reader in (("None means", "Unset means"), ("None:", "Unset:")):
        comment = comment.replace(python, reader)
    return comment.replace("<", "&lt;").replace(">", "&gt;")


def _docstring(model: type[BaseModel]) -> str:
    doc = model.__doc__
    if not doc or doc == BaseModel.__doc__:
        return ""
    return " ".join(doc.split())


def _type_text(field: FieldInfo) -> str:
    text = _annotation_text(field.annotation)
    bounds = []
    for item in field.metadata:
        for kind, attribute, sign in ((Ge, "ge", "≥"), (Gt, "gt", ">"), (Le, "le", "≤"), (Lt, "lt", "<")):
            if isinstance(item, kind):
                bounds.append(f"{sign} {getattr(item, attribute)}")
    return text + (f" ({', '.join(bounds)})" if bounds else "")


def _annotation_text(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        present = [arg for arg in args if arg is not type(None)]
        text = " or ".join(_annotation_text(arg) for arg in present)
        return f"{text}, optional" if len(present) < len(args) else text
    if origin is Literal:
        return "one of " + ", ".join(f'`"{arg}"`' for arg in args)
    if origin is list:
        return f"list of {_annotation_text(args[0])}s"
    if origin is dict:
        return "table"
    names = {str: "string", int: "integer", float: "number", bool: "boolean", Path: "path", SecretStr: "secret"}
    if annotation in names:
        return names[annotation]
    return getattr(annotation, "__name__", str(annotation))


def _default_text(name: str, field: FieldInfo) -> str:
    if name in _DESCRIBED_DEFAULTS:
        return _DESCRIBED_DEFAULTS[name]
    if field.default is PydanticUndefined and field.default_factory is None:
        return "required"
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "unset"
    return f"`{_toml_value(value)}`"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | Path):
        return f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key} = {_toml_value(item)}" for key, item in value.items()) + "}"
    return str(value)


def main(argv: list[str]) -> int:
    if argv == ["--write"]:
        DOC_PATH.write_text(render(), encoding="utf-8")
        return 0
    if argv:
        print("usage: python -m logchat.config_reference [--write]", file=sys.stderr)
        return 2
    sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
