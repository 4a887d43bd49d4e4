"""spaCy: the reference way to a ``DocBin`` (a real ``Doc`` per record) and what the fast
writer (:mod:`.docbin`) shares with it: loading spaCy lazily (an optional extra), the zh
``char`` tokenisation, ``doc.user_data``.

Tokens are one per character (``spacy.blank("zh")`` with the ``char`` segmenter); every
span is an entity (``doc.ents``); the record's id, ``_input_hash``, extra fields and span
attributes are kept in ``doc.user_data``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from . import ExportError, span_attrs, span_proposals, span_unsure


def load_spacy():
    try:
        import spacy
    except ImportError:
        raise ExportError(
            "the spacy format needs spaCy, an optional extra: pip install 'report-workbench[spacy]'"
            " (or pip install spacy)"
        ) from None
    return spacy


def blank_zh():
    """``spacy.blank("zh")`` with character segmentation (no jieba/pkuseg, no download)."""
    spacy = load_spacy()
    return spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "char"}}})


_CHAR_TOKEN = re.compile(r"(\S)( ?)|(\s+)")
_CHAR_TOKEN_PLAIN = re.compile(r"\S|\s+")


def char_words(text: str) -> tuple[list[str], list[bool]]:
    """The words and spaces spaCy's zh ``char`` segmenter makes of ``text``
    (``nlp.make_doc``), in one linear pass: one token per character, a single
    space after a character becomes its trailing whitespace, and any other run
    of whitespace is one token."""
    if " " not in text:  # no trailing spaces possible: plain tokens
        words = _CHAR_TOKEN_PLAIN.findall(text)
        return words, [False] * len(words)
    parts = _CHAR_TOKEN.findall(text)
    return [c or ws for c, _, ws in parts], [sp == " " for _, sp, _ in parts]


def spacy_doc(nlp, rec: Mapping[str, Any]):
    """A spaCy Doc of the record with every span as an entity.

    Tokens are those of the zh ``char`` segmenter (:func:`char_words`): one
    per character, except that a single space after a character becomes its
    trailing whitespace and other whitespace runs are one token. A span that
    starts or ends on such whitespace would not align, so that (rare) document
    is tokenised strictly one token per character instead. Either way
    ``doc.text == rec["text"]`` and every span is an entity.
    """
    from spacy.tokens import Doc

    text = rec["text"]
    spans = rec["spans"]
    words, spaces = char_words(text)
    doc = Doc(nlp.vocab, words=words, spaces=spaces)
    ents: list = [doc.char_span(s["start"], s["end"], label=s["label"], alignment_mode="strict") for s in spans]
    if any(e is None for e in ents):
        doc = Doc(nlp.vocab, words=list(text), spaces=[False] * len(text))
        ents = [doc.char_span(s["start"], s["end"], label=s["label"], alignment_mode="strict") for s in spans]
    if any(e is None for e in ents):  # pragma: no cover - impossible with one char per token
        raise ExportError(f"document {rec['id']}: a span does not align to characters")
    try:
        doc.ents = ents
    except ValueError as e:
        raise ExportError(f"document {rec['id']}: spans cannot all be entities (overlap?): {e}") from None
    doc.user_data.update(spacy_user_data(rec))
    return doc


DOCBIN_PARTS = ("attrs", "tokens", "spaces", "flags", "strings", "cats", "user_data", "span_groups")
DOCBIN_ATTRS = ["ORTH", "ENT_IOB", "ENT_TYPE"]


def docbin_add(docbin, doc, labels: Iterable[str]) -> None:
    """``DocBin.add`` for the blank, entity-only Docs made here, without its
    per-token Python loop (which adds tag, lemma, morph... strings that these
    Docs do not have and that take most of its time). The strings a Doc needs
    are its token texts and entity labels. Falls back to ``DocBin.add`` if a
    spaCy version lays DocBin out differently."""
    if not all(hasattr(docbin, a) for a in DOCBIN_PARTS):  # pragma: no cover - other spaCy layouts
        docbin.add(doc)
        return
    import numpy
    import srsly
    from spacy.attrs import SPACY

    array = doc.to_array(docbin.attrs)
    if len(array.shape) == 1:
        array = array.reshape((array.shape[0], 1))
    docbin.tokens.append(array)
    spaces = doc.to_array(SPACY)
    docbin.spaces.append(numpy.asarray(spaces.reshape((spaces.shape[0], 1)), dtype=bool))
    docbin.flags.append({"has_unknown_spaces": doc.has_unknown_spaces})
    docbin.strings.add("")
    strings = doc.vocab.strings
    docbin.strings.update(strings[h] for h in set(array[:, 0].tolist()))  # ORTH is column 0
    docbin.strings.update(labels)
    docbin.cats.append(doc.cats)
    if docbin.store_user_data:
        docbin.user_data.append(srsly.msgpack_dumps(doc.user_data))
    docbin.span_groups.append(doc.spans.to_bytes())


def spacy_user_data(rec: Mapping[str, Any]) -> dict[str, Any]:
    """``doc.user_data`` of the record's Doc: its id, span attributes, the proposals the spans
    answer (annotation exports), extra fields."""
    data: dict[str, Any] = {"id": rec["id"]}
    attrs = span_attrs(rec["spans"])
    if attrs:
        data["attrs"] = attrs
    proposals = span_proposals(rec["spans"])
    if proposals:
        data["proposals"] = proposals
    unsure = span_unsure(rec["spans"])
    if unsure:
        data["unsure_spans"] = unsure
    for k, v in rec.items():
        if k not in ("id", "text", "spans"):
            data[k] = v
    return data


class ReferenceDocBin:
    """One DocBin blob built the plain way: a spaCy ``Doc`` per record
    (:func:`spacy_doc`) added to a ``DocBin``. The fast path
    (:class:`FastDocBin`) must give the same bytes; this one is used when the
    installed spaCy lays DocBin out differently than the fast path expects."""

    def __init__(self, nlp=None):
        from spacy.tokens import DocBin

        self.nlp = nlp or blank_zh()
        self.docbin = DocBin(attrs=DOCBIN_ATTRS, store_user_data=True)

    def __len__(self) -> int:
        return len(self.docbin)

    def add(self, rec: Mapping[str, Any]) -> None:
        docbin_add(self.docbin, spacy_doc(self.nlp, rec), {s["label"] for s in rec["spans"]})

    def write_to(self, fh) -> None:
        fh.write(self.docbin.to_bytes())

    def abort(self) -> None:
        pass
