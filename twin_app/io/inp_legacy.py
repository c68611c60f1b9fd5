"""Legacy and default cases of EPANET ``.inp`` files that EPANET reads and wntr does not.

EPANET's own reader (``input3.c`` of the EPANET 2.2 toolkit) fills in defaults and skips
obsolete keywords that wntr 1.x's reader refuses. :func:`sanitise_inp` rewrites the text of a
file so that wntr reads it as EPANET does; each rule follows what EPANET does with the line:

* ``[OPTIONS]`` without a ``UNITS`` line: flows are GPM, EPANET's default ("The default flow
  units are GPM", [OPTIONS] in the EPANET 2.2 User Manual, L. A. Rossman et al.,
  EPA/600/R-20/133, 2020, https://usepa.github.io/EPANET2.2/, and the OWA EPANET toolkit
  reference, https://codedocs.xyz/OpenWaterAnalytics/EPANET/OptionsPage.html); wntr then
  fails deep in its reader on ``None`` flow units.
* ``[OPTIONS] SEGMENTS n``: the number of water-quality segments of EPANET 1. The EPANET 2.2
  [OPTIONS] reference (same pages) no longer lists it and ``input3.c`` (``optionvalue``: "Check for
  obsolete SEGMENTS keyword") reads and ignores it; wntr rejects the unknown option. The line
  is dropped.
* ``[SOURCES]`` lines without a source type (``node strength [pattern]``): ``input3.c``
  (``sourcedata``) takes the type as optional, CONCEN by default; wntr reads the strength as
  the type. ``CONCEN`` is inserted.
* ``[TANKS]`` lines with only ``id elevation [pattern]``: ``input3.c`` (``tankdata``) makes
  such a node a reservoir of that head; wntr refuses the line. It moves to ``[RESERVOIRS]``.
* ``[PUMPS]`` lines of EPANET 1.1 (``id node1 node2`` and numbers): ``input3.c``
  (``getpumpcurve``) takes one number as a constant power, two as the head and flow of a
  one-point curve, five (or more) as ``h0 h1 q1 h2 q2``, a three-point curve with
  ``(0, h0)``. EPANET 2.2 fits a curve of those points with the same power function
  (``powercurve``), so the line becomes ``POWER value`` or ``HEAD curve`` with the curve added
  to ``[CURVES]``; wntr refuses the numbers.
* ``[REPORT] FILE name``: where EPANET writes its report ([REPORT] in the manual); wntr
  has no such option and writes no report there anyway. The line is dropped.
* ``[PIPES]`` lines with seven fields whose last is ``CV``, ``OPEN`` or ``CLOSED``:
  ``input3.c`` (``pipedata``) reads the seventh field as a status when it is not a number,
  with minor loss 0; wntr reads it as the minor loss. ``0`` is inserted before it.

The rewrite keeps every line of the file on its own line number (a dropped or moved line
becomes blank; what is added goes after the last line, where an ``[END]`` line moves to),
so that a line wntr names in an error is the line of the user's file. Anything else is left
as it is: what wntr still cannot read stays its error. The user's file is never written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: EPANET's keywords as its ``match()`` tries them: a field starting with one (case aside) is it
#: (``w_CONCEN`` is "CONC", and so on, in EPANET's ``text.h``).
_SOURCE_TYPES = ("CONC", "MASS", "SETP", "FLOW")
_PIPE_STATUS = ("CV", "OPEN", "CLOSED")
_SECTION_RE = re.compile(r"^\s*\[")
#: Line ends as Python's text mode (and so wntr) splits them: \r\n, \r or \n.
_LINE_RE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


@dataclass(frozen=True)
class SanitisedInp:
    """The text wntr can read, and one line per kind of change made (empty: unchanged)."""

    text: str
    notes: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return bool(self.notes)


def _section(line: str) -> str:
    """``OPTION`` of ``[OPTIONS]`` and of ``[OPTION]`` (wntr allows either; EPANET matches
    the first letters)."""
    name = line.strip().split()[0].strip("[]").upper()
    return name[:-1] if name.endswith("S") else name


def _split(line: str) -> tuple[list[str], str, str]:
    """Fields before a ``;`` comment, the comment (with its ``;``), and the line end."""
    body = line.rstrip("\r\n")
    end = line[len(body) :]
    data, sep, comment = body.partition(";")
    return data.split(), sep + comment, end


def _is(word: str, keywords: tuple[str, ...]) -> bool:
    return word.upper().startswith(keywords)


def _number(word: str) -> float | None:
    try:
        return float(word)
    except ValueError:
        return None


def _curve_ids(lines: list[str]) -> set[str]:
    """Ids of the file's [CURVES], upper case (EPANET ids are case-insensitive)."""
    ids: set[str] = set()
    section = ""
    for line in lines:
        if _SECTION_RE.match(line):
            section = _section(line)
        elif section == "CURVE":
            words = _split(line)[0]
            if words:
                ids.add(words[0].upper())
    return ids


def _pump_1x(words: list[str], taken: set[str]) -> tuple[list[str], list[str]] | None:
    """The EPANET 2 fields of an EPANET 1.1 pump line and its curve's lines, or None when
    the line is not one (or not one EPANET reads)."""
    values = [_number(w) for w in words[3:]]
    if len(words) < 4 or values[0] is None:
        return None
    if any(v is None for v in values) or len(values) in (3, 4):
        return None  # EPANET refuses these too: leave them to wntr's error
    x = [float(v) for v in values if v is not None]
    if len(x) == 1:
        return [*words[:3], "POWER", words[3]], []
    name, k = f"{words[0]}_curve", 0
    while name.upper() in taken:
        k += 1
        name = f"{words[0]}_curve{k}"
    taken.add(name.upper())
    points = [(x[1], x[0])] if len(x) == 2 else [(0.0, x[0]), (x[2], x[1]), (x[4], x[3])]
    return [*words[:3], "HEAD", name], [f" {name} {q!r} {h!r}" for q, h in points]


def _lines(first: int, count: int) -> str:
    return f"line {first}" if count == 1 else f"line {first} and {count - 1} more"


def sanitise_inp(text: str) -> SanitisedInp:
    """Rewrite the legacy and default cases of an ``.inp`` text the way EPANET reads them.

    Parameters
    ----------
    text
        The whole file (decoded; line ends are kept as they are).

    Returns
    -------
    SanitisedInp
        The text with each line on its own line number, and one note per kind of change,
        naming the (first) line; no notes when nothing needed changing.
    """
    lines = _LINE_RE.findall(text)
    eol = "\r\n" if "\r\n" in text else "\n"
    out: list[str] = []
    section = ""
    has_units = False
    end_at = -1
    segments: list[int] = []
    sources: list[int] = []
    pipes: list[int] = []
    moved: list[str] = []
    moved_at: list[int] = []
    pumps: list[int] = []
    report_file: list[int] = []
    curves: list[str] = []
    taken = _curve_ids(lines)
    for n, line in enumerate(lines, start=1):
        if _SECTION_RE.match(line):
            section = _section(line)
            if section == "END":
                end_at = len(out)
                out.extend(lines[n - 1 :])
                break
            out.append(line)
            continue
        words, comment, end = _split(line)
        if not words:
            out.append(line)
            continue
        key = words[0].upper()
        if section == "OPTION" and key == "UNITS":
            has_units = True
        elif section == "OPTION" and key.startswith("SEGM"):
            segments.append(n)
            line = end
        elif section == "REPORT" and key == "FILE":
            report_file.append(n)
            line = end
        elif section == "SOURCE" and len(words) >= 2 and not _is(words[1], _SOURCE_TYPES):
            sources.append(n)
            line = (
                " ".join([words[0], "CONCEN", *words[1:]])
                + (f" {comment}" if comment else "")
                + end
            )
        elif section == "TANK" and 2 <= len(words) <= 3:
            moved.append(line.rstrip("\r\n"))
            moved_at.append(n)
            line = end
        elif section == "PUMP" and (pump := _pump_1x(words, taken)) is not None:
            pumps.append(n)
            line = " ".join(pump[0]) + (f" {comment}" if comment else "") + end
            curves += pump[1]
        elif section == "PIPE" and len(words) == 7 and _is(words[6], _PIPE_STATUS):
            pipes.append(n)
            line = " ".join([*words[:6], "0", words[6]]) + (f" {comment}" if comment else "") + end
        out.append(line)
    notes: list[str] = []
    added: list[str] = []
    if not has_units:
        added += ["[OPTIONS]", " UNITS GPM"]
        notes.append("[OPTIONS] has no UNITS line: flows read as GPM, EPANET's default")
    if segments:
        notes.append(
            f"{_lines(segments[0], len(segments))} in [OPTIONS]: dropped the obsolete "
            "option SEGMENTS (EPANET 2.2 ignores it)"
        )
    if sources:
        notes.append(
            f"{_lines(sources[0], len(sources))} in [SOURCES]: no source type, read as "
            "CONCEN (EPANET's default)"
        )
    if moved:
        added += ["[RESERVOIRS]", *moved]
        notes.append(
            f"{_lines(moved_at[0], len(moved))} in [TANKS]: only an elevation, read as a "
            "reservoir of that head (as EPANET does)"
        )
    if pumps:
        if curves:
            added += ["[CURVES]", *curves]
        notes.append(
            f"{_lines(pumps[0], len(pumps))} in [PUMPS]: an EPANET 1.1 pump curve given as "
            "numbers, read as EPANET 2.2 does (a power, or a curve of those points)"
        )
    if report_file:
        notes.append(
            f"{_lines(report_file[0], len(report_file))} in [REPORT]: no report file is "
            "written (the option FILE is dropped)"
        )
    if pipes:
        notes.append(
            f"{_lines(pipes[0], len(pipes))} in [PIPES]: a status in place of the minor loss, "
            "read with minor loss 0 (as EPANET does)"
        )
    if not notes:
        return SanitisedInp(text, ())
    tail = "".join(a + eol for a in added)
    if end_at < 0:
        if out and not out[-1].endswith(("\n", "\r")):
            out[-1] += eol
        return SanitisedInp("".join(out) + tail, tuple(notes))
    # the additions go before [END] (wntr reads nothing after it), which moves below them;
    # its own line becomes blank, and what followed it (unread) follows it still
    rest = out[end_at:]
    head = "".join(out[:end_at]) + eol
    return SanitisedInp(head + tail + "".join(rest), tuple(notes))
