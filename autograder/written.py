"""Written responses: find the answers under their headings, count sentences as a
reader would, and score the rubric's ``auto`` items; ``manual`` items are listed
as pending in the top-level output (a row of 0 points would show as "passed").

Sentence boundaries come from pysbd (a maintained rule-based segmenter) on plain
text made from the Markdown: comments, code, links and emphasis are stripped, each
list item and paragraph is segmented on its own (a bullet is at least one
sentence), and a "sentence" that starts in lower case is joined to the one before
(a segmenter's false break after a quoted title or an abbreviation). A one-line
lead-in ending in a colon ("Easy tasks:") introduces a list and is not counted.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pysbd
from rapidfuzz.distance import Levenshtein

from autograder.config import Assignment, Question, RubricItem
from autograder.locate import candidates, locate
from autograder.results import Row
from autograder.words import count

MAX_CHARS = 200_000  # of the whole file; a 5 MB paste is cut here
MAX_ANSWER_CHARS = 20_000  # of one answer (a 20-sentence answer is about 3,000)
CHUNK = 2_000  # pysbd's time grows with the square of a paragraph's length
PLACEHOLDER = "_Write your answer here._"
_SEGMENTER = pysbd.Segmenter(language="en", clean=False)
_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
_FENCE = re.compile(r"^\s*(```|~~~).*?^\s*\1[^\n]*$", re.DOTALL | re.MULTILINE)
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_SETEXT = re.compile(r"^\s{0,3}(=+|-{2,})\s*$")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+(.*)$")
_RULE = re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$|^\s*\|?[\s:|-]+\|[\s:|-]*$")
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_EMPHASIS = re.compile(r"(\*\*|__|\*|(?<!\w)_|_(?!\w)|~~|`)")
_TAG = re.compile(r"</?[A-Za-z][^>]*>")
_MISSING_SPACE = re.compile(r"([a-z]{2}[.!?])([A-Z][a-z])")
_LETTER = re.compile(r"[^\W\d_]")
_END = re.compile(r"[.!?]")
_NUMBER = re.compile(r"^\s*(?:q(?:uestion)?\s*)?(\d{1,2})\s*(?:[.):\-–—]|\s|$)", re.IGNORECASE)
_WORD = re.compile(r"[^\W_]+")  # runs of letters and digits: punctuation and spacing drop out
_COUNTS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
_NOT_TEXT = {".pdf": "a PDF", ".doc": "a Word document", ".pages": "a Pages document",
             ".odt": "an OpenDocument file", ".rtf": "an RTF file"}


@dataclass
class Answer:
    """What was found for one question."""

    text: str = ""
    sentences: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def answered(self) -> bool:
        return self.sentences > 0


# -- sentences -------------------------------------------------------------------------
def plain_blocks(markdown: str) -> list[str]:
    """Paragraphs and list items of ``markdown`` as plain text, one string each."""
    text = _FENCE.sub("\n", _COMMENT.sub(" ", markdown)).replace(PLACEHOLDER, "")
    blocks: list[list[str]] = [[]]
    for line in text.splitlines():
        stripped = line.strip().lstrip(">").strip()
        item = _LIST_ITEM.match(stripped)
        if not stripped or _RULE.match(stripped) or _HEADING.match(line) or _SETEXT.match(line):
            blocks.append([])
        elif item:
            blocks.append([item.group(1)])
        else:
            blocks[-1].append(stripped)
    return [inline_text(" ".join(b)) for b in blocks if b]


def inline_text(text: str) -> str:
    """Strip inline Markdown (images, links, emphasis, code, HTML tags)."""
    text = _LINK.sub(r"\1", _IMAGE.sub("", text))
    return _TAG.sub("", _EMPHASIS.sub("", text)).strip()


def sentences(markdown: str) -> list[str]:
    """The sentences of a Markdown answer."""
    found: list[str] = []
    for block in plain_blocks(markdown):
        if block.endswith(":") and not _END.search(block[:-1]):
            continue  # a lead-in such as "Easy tasks:" introduces a list; it is no sentence
        merged: list[str] = []
        pieces = (_SEGMENTER.segment(chunk) for chunk in chunks(_MISSING_SPACE.sub(r"\1 \2", block)))
        for segment in (s for piece in pieces for s in piece):
            start = segment.lstrip(" \"'“‘([")
            if merged and start[:1].islower():
                merged[-1] += segment
            else:
                merged.append(segment)
        found += [s.strip() for s in merged if _LETTER.search(s)]
    return found


def chunks(text: str) -> list[str]:
    """``text`` cut after sentence-ending punctuation into pieces of at most ``CHUNK``
    characters (only very long paragraphs are cut at all)."""
    pieces = []
    while len(text) > CHUNK:
        cut = max(text.rfind(". ", 0, CHUNK), text.rfind("? ", 0, CHUNK), text.rfind("! ", 0, CHUNK))
        cut = cut + 1 if cut > 0 else (text.rfind(" ", 0, CHUNK) if " " in text[:CHUNK] else CHUNK)
        pieces.append(text[:cut])
        text = text[cut:]
    return [*pieces, text]


def count_sentences(markdown: str) -> int:
    """How many sentences a careful reader would count in ``markdown``."""
    return len(sentences(markdown))


# -- reading the submission ---------------------------------------------------------------
def read_submission(assignment: Assignment, submission: Path) -> tuple[str, list[str]]:
    """The response text and notes on how it was found and read."""
    name = assignment.files[0]
    found = locate(submission, [name])
    notes = list(found.notes)
    path = found.files.get(Path(name).stem)
    if path is None:
        files = candidates(submission) if submission.is_dir() else []
        texts = [p for p in files if p.suffix.lower() in (".md", ".markdown", ".txt")]
        documents = [p for p in files if p.suffix.lower() == ".docx"]
        if len(texts) == 1:
            path = texts[0]
            notes.append(f"graded '{path.name}' as {name}")
        elif documents:
            notes.append(f"read the text of '{documents[0].name}'; next time submit {name} "
                         "(Markdown) from the template")
            return docx_text(documents[0]), notes
        else:
            others = [f"'{p.name}' ({_NOT_TEXT[p.suffix.lower()]})" for p in files
                      if p.suffix.lower() in _NOT_TEXT]
            detail = (f"You uploaded {', '.join(others)}, which the autograder cannot read. "
                      if others else found.missing[Path(name).stem] + " ")
            return "", notes + [detail + f"Paste your answers into {name} from the template "
                                        f"(plain text under {the_headings(len(assignment.questions))})"
                                        " and resubmit."]
    raw = path.read_bytes()
    if raw[:5] == b"%PDF-" or raw[:2] == b"PK":
        return "", notes + [f"{path.name} is a PDF or Word file renamed to .md; submit plain "
                            "Markdown text from the template."]
    return decode(raw, notes), notes


def decode(raw: bytes, notes: list[str]) -> str:
    """UTF-8 text (with or without BOM); UTF-16 with a BOM; else Windows-1252, with a note."""
    if len(raw) > MAX_CHARS * 4:
        raw = raw[: MAX_CHARS * 4]
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = raw.decode("utf-16", errors="replace")
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("cp1252", errors="replace")
            notes.append("the file is not UTF-8 text; it was read as Windows-1252. Save it as "
                         "UTF-8 so that every character comes through.")
    if len(text) > MAX_CHARS:
        notes.append(f"the file is {len(text):,} characters long; only the first "
                     f"{MAX_CHARS:,} were read")
        text = text[:MAX_CHARS]
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")


def docx_text(path: Path) -> str:
    """The paragraphs of a .docx file as Markdown (Word headings become ``#`` headings)."""
    try:
        with zipfile.ZipFile(path) as archive:
            xml = archive.read("word/document.xml").decode("utf-8", errors="replace")
    except (zipfile.BadZipFile, KeyError, OSError):
        return ""
    lines = []
    for paragraph in re.findall(r"<w:p[ >].*?</w:p>", xml, re.DOTALL):
        words = "".join(re.findall(r"<w:t(?: [^>]*)?>([^<]*)</w:t>", paragraph))
        heading = re.search(r'<w:pStyle w:val="(?:Heading|Title)', paragraph)
        lines.append(("# " if heading else "") + words)
    return "\n\n".join(lines)


# -- sections -----------------------------------------------------------------------------
def split_answers(text: str, questions: tuple[Question, ...]) -> tuple[dict[str, Answer], list[str]]:
    """Each question's answer (the text under its heading) and notes on the layout."""
    answers = {q.id: Answer() for q in questions}
    numbers = {q.id: number for number, q in enumerate(questions, start=1)}
    notes: list[str] = []
    lines = text.split("\n")
    headings = [(i, m.group(2)) for i, line in enumerate(lines) if (m := _HEADING.match(line))]
    matched = [(i, match_question(title, questions)) for i, title in headings]
    if not any(q for _, q in matched):
        if len(headings) == len(questions):
            matched = [(i, q.id) for (i, _), q in zip(headings, questions)]
            notes.append("the headings do not match the questions; the sections were taken "
                         "in order. Keep the template's headings.")
        else:
            if text.strip():
                notes.append("no question headings were found, so no answer could be matched "
                             f"to a question. Keep {the_headings(len(questions))} from the template "
                             "and write each answer under its own heading.")
            return answers, notes
    current, seen = None, set()
    for index, line in enumerate(lines):
        hit = next((q for i, q in matched if i == index), "none")
        if hit != "none":
            if hit is not None:
                if hit in seen:
                    notes.append(f"the heading of question {numbers[hit]} appears twice; both "
                                 "parts were read as its answer")
                current = hit
                seen.add(hit)
            continue
        if current is not None:
            answers[current].text += line + "\n"
    for q in questions:
        if q.id not in seen:
            answers[q.id].notes.append(f"the heading '{q.heading}' was not found")
    return answers, notes


def match_question(title: str, questions: tuple[Question, ...]) -> str | None:
    """The id of the question a heading stands for, or None."""
    number = _NUMBER.match(title)
    if number and 1 <= int(number.group(1)) <= len(questions):
        return questions[int(number.group(1)) - 1].id
    def norm(s: str) -> str:
        return re.sub(r"[^a-z ]", "", s.lower())
    scores = [(difflib.SequenceMatcher(None, norm(title), norm(q.heading)).ratio(), q.id)
              for q in questions]
    best = max(scores)
    return best[1] if best[0] >= 0.6 else None


def the_headings(count: int) -> str:
    """How the template's headings are called: "the three headings" ("the heading" for one)."""
    if count == 1:
        return "the heading"
    return f"the {_COUNTS[count] if count < len(_COUNTS) else count} headings"


def mentions_any(text: str, terms: tuple[str, ...]) -> tuple[str, str] | None:
    """The first of ``terms`` (titles, names) that ``text`` mentions, read as a reader
    would: accents, case, spacing and punctuation ignored, and a small typo accepted in a
    long term (see :func:`typos_allowed`). Returns (the term, the words as written)."""
    words = [(match.group(), fold(match.group())) for match in _WORD.finditer(text)]
    for term in terms:
        target, size = squash(term), len(_WORD.findall(term))
        allowed = typos_allowed(target)
        best: tuple[int, str] | None = None
        for width in (size, size + 1, size - 1):
            for start in range(len(words) - width + 1 if width else 0):
                window = words[start:start + width]
                candidate = "".join(folded for _, folded in window)
                if abs(len(candidate) - len(target)) > allowed or _digits(candidate) != _digits(target):
                    continue
                distance = Levenshtein.distance(candidate, target, score_cutoff=allowed)
                if distance <= allowed and (best is None or distance < best[0]):
                    best = (distance, " ".join(raw for raw, _ in window))
        if best is not None:
            return term, best[1]
    return None


def squash(text: str) -> str:
    """``text`` folded, without spacing or punctuation: "Yun + More" -> "yunmore"."""
    return "".join(fold(word) for word in _WORD.findall(text))


def fold(word: str) -> str:
    """``word`` in lower case without accents: "Sudamérica" -> "sudamerica"."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def typos_allowed(title: str) -> int:
    """Edits accepted in a title of this many letters: none up to 5 (short names such
    as "KeRa" are common words with one letter changed), 1 up to 9, then 2."""
    return 0 if len(title) <= 5 else 1 if len(title) <= 9 else 2


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


# -- grading ------------------------------------------------------------------------------
def read_answers(assignment: Assignment, submission: Path) -> tuple[dict[str, Answer], list[str]]:
    """Every question's answer, with its sentence count, and notes on the file."""
    text, notes = read_submission(assignment, submission)
    if not text.strip() and not notes:
        notes.append(f"{assignment.files[0]} is empty")
    answers, layout = split_answers(text, assignment.questions)
    for answer in answers.values():
        if len(answer.text) > MAX_ANSWER_CHARS:
            answer.notes.append(f"the answer is {len(answer.text):,} characters long; sentences "
                                f"were counted in the first {MAX_ANSWER_CHARS:,}")
            answer.text = answer.text[:MAX_ANSWER_CHARS]
        answer.sentences = count_sentences(answer.text)
    return answers, notes + layout


def grade(assignment: Assignment, submission: Path) -> tuple[list[Row], str]:
    """Rows for the rubric's automatic items, and a summary that lists the items a
    grader scores by hand."""
    answers, notes = read_answers(assignment, submission)
    low, high = assignment.sentences
    rows = []
    if notes:
        rows.append(Row("Submitted file", 0.0, 0.0, ["files"], output="\n".join(notes),
                        status="passed"))
    pending = []
    for number, q in enumerate(assignment.questions, start=1):
        answer = answers[q.id]
        tag = f"{assignment.name}.{q.id}"
        hint = overflow_hint(q, assignment.questions, answers, high)
        for item in q.rubric:
            name = f"Q{number} {item.description}"
            if item.kind == "manual":
                pending.append(f"- {name} ({count(item.points, 'point')})")
                continue
            passed, output, extra = auto_check(item, answer, (low, high), hint)
            rows.append(Row(name, item.points if passed else 0.0, item.points, [tag],
                            output=output, extra_data=extra))
    auto = sum(r.max_score for r in rows)
    summary = f"Automatic checks: {sum(r.score for r in rows):g} of {auto:g} points."
    if pending:
        summary += (f" The other {count(assignment.manual_points, 'point')} "
                    f"{'is' if assignment.manual_points == 1 else 'are'} graded by hand on "
                    "Gradescope:")
    return rows, "\n".join([summary, *pending])


def auto_check(item: RubricItem, answer: Answer, bounds: tuple[int, int],
               hint: str) -> tuple[bool, str, dict]:
    """(passed, message, extra_data) of one automatic rubric item."""
    low, high = bounds
    missing = "; ".join(answer.notes) or "no text was found under the heading"
    if item.check == "answered":
        if answer.answered:
            return True, f"Answered ({count(answer.sentences, 'sentence')}).", {}
        return False, f"No answer found: {missing}.{hint}", {}
    if item.check == "length":
        extra = {"sentences": answer.sentences, "min": low, "max": high}
        message = f"{count(answer.sentences, 'sentence')}; the answer should have {low} to {high}."
        if answer.notes:
            message += f" Note: {'; '.join(answer.notes)}."
        passed = low <= answer.sentences <= high
        return passed, message + ("" if passed else hint), extra
    named = mentions_any(answer.text, item.terms)  # the only other check: mentions_any
    if named:
        term, written = named
        read = "" if squash(written) == squash(term) else f" (read '{written}' as '{term}')"
        return True, f"Names '{term}'{read}.", {}
    return False, item.message, {}


def overflow_hint(question: Question, questions: tuple[Question, ...],
                  answers: dict[str, Answer], high: int) -> str:
    """A hint when this answer is empty while another is far too long."""
    if answers[question.id].answered:
        return ""
    long = [(number, answers[q.id].sentences) for number, q in enumerate(questions, start=1)
            if answers[q.id].sentences > high]
    if not long:
        return ""
    number, sentences = long[0]
    return (f" Question {number}'s section has {count(sentences, 'sentence')}: "
            "did this answer end up under another heading?")
