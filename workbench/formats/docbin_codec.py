"""The fast DocBin path's codec: a record's DocBin token rows (ORTH, ENT_IOB, ENT_TYPE)
computed with numpy, without making a spaCy ``Doc`` (:class:`SpacyCodec`). Written by
:class:`workbench.formats.docbin.FastDocBin`, which checks it against the reference path
(:mod:`.spacy`) before using it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .spacy import DOCBIN_ATTRS, DOCBIN_PARTS


class LayoutMismatch(Exception):
    """The installed spaCy's DocBin is not laid out as :class:`FastDocBin` writes it."""


class SpacyCodec:
    """What every :class:`FastDocBin` shares: spaCy's string ids of characters
    (a table over all code points, filled as characters are met), of labels and
    of whitespace runs; the DocBin layout constants."""

    N_CP = 0x110000

    def __init__(self) -> None:
        import numpy as np
        import srsly
        from spacy.attrs import ENT_IOB, ENT_TYPE, ORTH
        from spacy.strings import get_string_id
        from spacy.tokens import Doc, DocBin
        from spacy.vocab import Vocab

        db = DocBin(attrs=DOCBIN_ATTRS, store_user_data=True)
        self.attrs = list(db.attrs)
        self.version = db.version
        if (
            self.attrs != [ORTH, ENT_IOB, ENT_TYPE]
            or self.version != "0.1"
            or not all(hasattr(db, a) for a in DOCBIN_PARTS)
        ):
            raise LayoutMismatch(f"DocBin version {self.version!r}, attrs {self.attrs}")
        self.np = np
        self.string_id = get_string_id
        self.cp_id = np.zeros(self.N_CP, np.uint64)  # 0 = not looked up yet
        # every str.isspace() character (= the regex \s of char_words) is below U+3001
        self.isspace = np.zeros(self.N_CP, bool)
        self.isspace[[c for c in range(0x3001) if chr(c).isspace()]] = True
        self.label_ids: dict[str, int] = {}
        self.run_ids: dict[str, int] = {}
        self.pack = srsly.msgpack.Packer(use_bin_type=True).pack
        self.empty_span_groups = Doc(Vocab(), words=[]).spans.to_bytes()

    def char_ids(self, cps):
        """spaCy string ids of the characters (code points) ``cps``."""
        ids = self.cp_id[cps]
        unknown = ids == 0  # no character's id is 0 (that is the empty string's)
        if unknown.any():
            for c in self.np.unique(cps[unknown]).tolist():
                self.cp_id[c] = self.string_id(chr(c))
            ids = self.cp_id[cps]
        return ids

    def label_id(self, label) -> int | None:
        if type(label) is not str:
            return None
        i = self.label_ids.get(label)
        if i is None:
            if not label:
                return None
            i = self.label_ids[label] = self.string_id(label)
        return i

    def run_id(self, run: str) -> int:
        i = self.run_ids.get(run)
        if i is None:
            i = self.run_ids[run] = self.string_id(run)
        return i

    def doc_arrays(self, rec: Mapping[str, Any]):
        """The DocBin rows of one record without making a Doc, or None when
        the record is unusual (empty text, unsorted/overlapping/odd spans,
        surrogates...) and must go through the reference path.

        Returns ``(tokens, spaces, chars, runs, labels)``: the ``(n, 3)`` uint64
        array of ORTH, ENT_IOB, ENT_TYPE per token; the indices of tokens
        followed by a space (or None); the code points of the one-character
        tokens; the whitespace runs that are tokens; the spans' labels.

        Tokens are those of :func:`spacy_doc`: :func:`char_words`' (one per
        character, a single space after a non-space character is that token's
        trailing whitespace, any other whitespace run is one token), or one per
        character if a span does not align to those.
        """
        np = self.np
        text = rec["text"]
        n = len(text)
        if not n:
            return None
        try:
            cps = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        except UnicodeEncodeError:  # lone surrogates
            return None
        spans = rec["spans"]
        m = len(spans)
        labels: list = []
        if m:
            starts: Any = [s["start"] for s in spans]  # then numpy arrays
            ends: Any = [s["end"] for s in spans]
            if not {*map(type, starts), *map(type, ends)} <= {int}:
                return None
            labels = [s["label"] for s in spans]
            try:
                lids = list(map(self.label_ids.get, labels))
            except TypeError:  # an unhashable label
                return None
            if None in lids:
                lids = list(map(self.label_id, labels))
                if None in lids:
                    return None
            try:
                starts = np.array(starts, dtype=np.int64)
                ends = np.array(ends, dtype=np.int64)
            except OverflowError:
                return None
            if not ((starts[0] >= 0) and (ends[-1] <= n) and (starts < ends).all() and (starts[1:] >= ends[:-1]).all()):
                return None  # the reference path sorts or refuses these

        # char_words on the (few) whitespace positions: a space after a
        # non-space character is that token's trailing whitespace ("trailing"),
        # and whitespace after whitespace that is not trailing continues a run
        # token ("cont"); every other character starts a token
        wsp = np.flatnonzero(self.isspace[cps])
        runs: list[str] = []
        spaces = None
        per_char = True
        if len(wsp):
            after_ws = np.zeros(len(wsp), bool)
            after_ws[1:] = wsp[1:] - wsp[:-1] == 1
            trailing = (cps[wsp] == 32) & ~after_ws
            if wsp[0] == 0:
                trailing[0] = False
            cont = np.zeros(len(wsp), bool)
            cont[1:] = after_ws[1:] & ~trailing[:-1]
            tpos, cpos = wsp[trailing], wsp[cont]
            if len(tpos) or len(cpos):
                is_start = np.ones(n, bool)
                is_start[tpos] = False
                is_start[cpos] = False
                aligned = True
                if m:  # a span must start on a token and end where a token's text ends
                    bad_end = np.zeros(n + 1, bool)
                    bad_end[tpos + 1] = True
                    bad_end[cpos] = True
                    aligned = bool(is_start[starts].all()) and not bad_end[ends].any()
                if aligned:  # else the reference tokenises one character per token
                    per_char = False
                    tok = np.flatnonzero(is_start)
                    ntok = len(tok)
                    chars = cps[tok]
                    orth = self.char_ids(chars)
                    # the token of character i is searchsorted(tok, i, "right") - 1;
                    # for a token's first character that is searchsorted(tok, i)
                    if len(tpos):
                        spaces = np.searchsorted(tok, tpos - 1)
                    if len(cpos):  # whitespace runs of 2+ characters are one token each
                        ci = np.flatnonzero(cont)
                        first = np.ones(len(ci), bool)
                        first[1:] = ci[1:] - ci[:-1] != 1
                        last = np.ones(len(ci), bool)
                        last[:-1] = first[1:]
                        run_starts = wsp[ci[first] - 1]
                        run_ends = (wsp[ci[last]] + 1).tolist()
                        runs = [text[a:b] for a, b in zip(run_starts.tolist(), run_ends)]
                        run_id = self.run_id
                        multi = np.searchsorted(tok, run_starts)
                        orth[multi] = [run_id(r) for r in runs]
                        chars = np.delete(chars, multi)
                    if m:
                        starts = np.searchsorted(tok, starts)
                        ends = np.searchsorted(tok, ends - 1, "right")
        if per_char:
            chars, ntok, orth = cps, n, self.char_ids(cps)

        tokens = np.empty((ntok, 3), np.uint64)
        tokens[:, 0] = orth
        if m:
            # ENT_IOB / ENT_TYPE by runs: gap (O, 0), span (I, label), ..., gap
            lens = np.empty(2 * m + 1, np.int64)
            lens[0] = starts[0]
            lens[2:-1:2] = starts[1:] - ends[:-1]
            lens[1::2] = ends - starts
            lens[-1] = ntok - ends[-1]
            iob = np.full(2 * m + 1, 2, np.uint64)  # O
            iob[1::2] = 1  # I
            iob = np.repeat(iob, lens)
            iob[starts] = 3  # B
            tokens[:, 1] = iob
            etype = np.zeros(2 * m + 1, np.uint64)
            etype[1::2] = lids
            tokens[:, 2] = np.repeat(etype, lens)
        else:
            tokens[:, 1] = 2
            tokens[:, 2] = 0
        return tokens, spaces, chars, runs, labels
