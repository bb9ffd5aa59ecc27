"""Student text made inert for each place it is shown: terminals, rich markup, CSV, markdown, HTML, CI logs.

Everything a student controls (output, messages quoting it, folder and file names, zip paths) goes
through one of these functions before it reaches a sink; each function names the sink it protects.
No third-party imports here: the CLI's fast paths import this module too.
"""

from __future__ import annotations

import hashlib
import html as _html
import re

# C0 controls but \t and \n, DEL, C1 controls, and the bidi controls that reorder what a reader sees
# (embeddings, overrides, isolates, marks), and the Unicode line separators some viewers break lines at:
# any of them can rewrite a terminal line, hide text or start a line the reader did not see coming.
# Lone surrogates too: a folder name that is not UTF-8 arrives as `surrogateescape` text, which no terminal,
# file or CSV can encode (printing it raised UnicodeEncodeError): shown as the byte it stood for, `\xff`.
_CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def _visible(m: re.Match[str]) -> str:
    c = ord(m.group())
    if c < 0x20:
        return chr(0x2400 + c)  # the Control Pictures block: ␛ for ESC, ␍ for CR, ␀ for NUL
    if c == 0x7F:
        return "\u2421"  # ␡
    if 0xDC80 <= c <= 0xDCFF:
        return f"\\x{c - 0xDC00:02x}"
    return f"<U+{c:04X}>"


def control(text: str) -> str:
    """For terminals and any human-facing text: control characters shown as visible symbols (ESC -> ␛,
    U+202E -> <U+202E>), so no escape sequence, carriage return or bidi override reaches a reader."""
    return _CONTROL.sub(_visible, text)


def one_line(text: str) -> str:
    """`control`, and line breaks and tabs folded into spaces: for a message that must stay on its line."""
    return control(re.sub(r"[\r\n\t]+", " ", text))


def terminal(text: str) -> str:
    """For a console that may wrap lines and may be a CI log (`grade submit` in a workflow): `control`, and
    every `::` and `##[` broken up, since wrapping can put any word at a line's start (see `workflow`)."""
    return _WORKFLOW_ANYWHERE.sub(lambda m: "# #[" if m.group().startswith("#") else ": :", control(text))


def markup(text: str) -> str:
    """For a rich console string that holds markup of ours: the student's part can open or close no tag
    (and is `terminal`-safe)."""
    from rich.markup import escape  # imported here: only commands that print with rich pay for it

    return escape(terminal(text))


# --- spreadsheets ---------------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?([eE][+-]?\d+)?")


def csv_cell(value: str) -> str:
    """For a CSV cell a spreadsheet will open: a leading = + - @ (or tab, CR, LF, or their full-width forms)
    gets a `'` in front, as OWASP advises, so no formula runs; plain numbers stay numbers."""
    if _NUMBER.fullmatch(value):
        return value
    head = value.lstrip(" ")
    if head.startswith(_FORMULA_START) or value.startswith(_FORMULA_START):
        return "'" + control(value)
    return control(value)


# --- markdown and HTML ----------------------------------------------------------------------------------

# What inline markdown may read as syntax: emphasis, code, links and images, raw HTML and entities, table
# pipes, strikethrough, and the autolinks GitHub makes of bare URLs (`://`, `www.`) and e-mail addresses.
_MD_SPECIAL = re.compile(r"[\\`*_\[\]<>&|~!#]|:(?=//)|(?<=www)\.|@")


def md_inline(text: str) -> str:
    """For text inside a markdown line (a heading, a list item, a table cell): one line, control characters
    visible, and every character markdown could read as syntax backslash-escaped, so it renders as typed."""
    text = _MD_SPECIAL.sub(lambda m: "\\" + m.group(), one_line(text))
    # where the text starts a block (a quote's body, a cell), a list marker or setext line must stay text
    return re.sub(
        r"^(\d+)([.)])|^([-+=])", lambda m: f"{m.group(1)}\\{m.group(2)}" if m.group(1) else "\\" + m.group(3), text
    )


def md_fence(text: str, info: str = "text") -> str:
    """For a block of student output in markdown: a back-tick fence longer than any run of back-ticks inside
    it, so no line of the text can close it (a tilde line cannot close a back-tick fence); control characters
    visible."""
    body = control(text).rstrip()
    longest = max((len(m) for m in re.findall(r"`+", body)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{info}\n{body}\n{ticks}"


def html(text: str, *, quote: bool = True) -> str:
    """For HTML attribute values (and text): escaped, quotes included, control characters visible. With
    quote=False, for text content only: `<`, `>` and `&`, so an apostrophe stays readable."""
    return _html.escape(control(text), quote=quote)


def json_text(document: str) -> str:
    """For JSON that may be printed to a terminal or a CI log: the control characters JSON leaves raw (DEL,
    C1, bidi, line separators) and the `#` of a legacy `##[` workflow command written as `\\uXXXX` escapes,
    which decode to the same data."""
    # JSON's own syntax is ASCII without `#`, so these can only be inside strings, where `\\u` is valid
    document = document.replace("##[", "#\\u0023[")
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", document)


# --- CI logs --------------------------------------------------------------------------------------------

_WORKFLOW = re.compile(r"##\[|^(\s*):(?=:)", re.MULTILINE)
_WORKFLOW_ANYWHERE = re.compile(r"##\[|::")


def workflow(text: str) -> str:
    """For a line printed to a GitHub Actions log: the runner reads `::name::` at a line's start and the
    legacy `##[name]` anywhere; both are broken up with a space (`# #[`, `: :`), so nothing it prints can
    run a command (e.g. `##[stop-commands]` silencing the grader's own annotations)."""
    return _WORKFLOW.sub(lambda m: "# #[" if m.group().startswith("#") else m.group(1) + ": ", control(text))


# --- file names -----------------------------------------------------------------------------------------

_SAFE_NAME = re.compile(r"[A-Za-z0-9_-]")
_WINDOWS_DEVICE = re.compile(r"(?i)CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9]")
NAME_CAP = 120  # characters of the encoded name before the hash takes over; far below any file system's limit


def filename(name: str) -> str:
    """A file name for a student id: unique and reversible (`%XX` for every byte outside [A-Za-z0-9._-], for
    a leading dot, so never `.`, `..` or hidden, and for the first letter of a Windows device name such as
    `CON`), and short (past NAME_CAP, a prefix plus a hash of the whole id). `unquote(filename(s)) == s` for
    every id within the cap (`errors="surrogateescape"` for an id that is not UTF-8)."""
    out = []
    for i, ch in enumerate(name):
        if _SAFE_NAME.match(ch) or (ch == "." and i > 0):
            out.append(ch)
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8", "surrogateescape"))
    encoded = "".join(out) or "%00"
    if _WINDOWS_DEVICE.fullmatch(encoded.split(".", 1)[0]):
        encoded = f"%{ord(encoded[0]):02X}{encoded[1:]}"  # CON, NUL, COM1…: device names on Windows, not files
    if len(encoded) <= NAME_CAP:
        return encoded
    digest = hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    head = re.sub(r"%[0-9A-F]?$", "", encoded[: NAME_CAP - 17])  # never half an escape
    return f"{head}~{digest}"
