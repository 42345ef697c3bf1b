"""Redaction: personal numbers and addresses out of a transcript, right after ASR.

Finds, in Mandarin and English as ASR writes them (digits, 一三八…, 幺三八… and ASR's 要 for 幺, "one three
eight…", grouped with commas, dashes or ASR's dots, "double five", "oh", split over turns of one speaker
around the other's back-channel, said again after "不对，是…"):

- phone numbers: mobile and landline (`phonenumbers`), mainland China first, then US/GB and "+CC";
- Chinese resident ID numbers (18 characters, checksum and birth date, `python-stdnum`);
- bank card numbers (Luhn, `python-stdnum`, with a card-like prefix when nothing in the context says card);
- e-mail addresses, written or spoken ("john dot li at gmail dot com", zhangsan艾特qq点com).

A checksum confirms an intact number, but ASR drops and changes digits, so a run of seven or more digits
said in a personal context (身份证, 卡号, 手机, 电话, account, card, phone …; in the customer's words or in
the question that asked for it, over back-channels) is redacted even when no check passes. Over a phone
line ASR garbles more ('too neurotic. Two heaven free' for 206 273 70…): where a cue word (redaction.yaml
cue_words) asked for the number, the whole stretch of digits, digit soundalikes and a garbled word or two
between is redacted (cue stretches), over ASR's segment breaks too. And where the rep asked for a
personal number or address itself (方便留个电话, 卡号是多少, "what's the best number to reach you", "your
e-mail?", "where should we send the report?"; not "what phone system", 手机壳, an order number) and nothing
was found in the customer's reply (their turns up to the rep's next one that is more than a back-channel or
a wait), the reply after its lead-in is redacted as the kind asked, however ASR garbled it ('Green the number
in', 用。: asked replies), unless it declines or defers (不方便, 我加你微信吧, "I'll email it over"), only
says 'go on' or waits, or says a quantity, a time, an amount, a place or a hotline. An English number
read out digit by digit ('4-3-6-7, 4-2-0-1, 1-3-4 time', '4, 4, 0, 1, 0, 5': ten digits or more, most of
them lone) is personal however garbled the question was (read-outs), unless it names a look-alike, counts,
or lists scores; '…, and the last four are …' goes on with the number just said. Look-alikes are
kept: a run followed by a unit (元, 台, dollars), a date, or said in an order/invoice/tracking/ticket
context (by either side) is not a phone number; short runs are never personal. The words are data:
nlp/data/redaction.yaml and nlp/data/spoken_digits.yaml.

`redact_transcript` replaces each found span in the turn text (and in the words) by a placeholder
([电话] [身份证] [银行卡] [邮箱] in Mandarin turns, [phone] [id] [card] [email] in English ones) and lists
it on the turn as a Redaction with its kind and time span. The found value travels only in memory
(Redaction.value, never serialised) so a caller can keep a salted hash of it for erasure requests.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from callscope.models.document import Redaction, Transcript, Turn, Word
from callscope.nlp.resources import load_yaml

KINDS = ("phone", "id", "card", "email")
# raised whenever the rules find more than before: `callscope privacy backfill` re-redacts calls stored under
# an older version (2: phone-band soundalikes of digit words, garbled replies to an e-mail question; 3: the
# question found over back-channels, splits over several turns and lead-ins, corrections, 要 for 幺, dotted
# groups, addresses at mail providers or asked for by 'send it where', a bare 'number' after a ticket;
# 4: the question over waits ('let me look', 'take your time'), full stops between groups, 艾克斯 for X,
# 'order ID' as a look-alike, pay/刷卡/找我 context words, e-mail over waits, 'mend' for send, c o m, a split
# over the rep's 'say the last four again' and over five parts; round numbers and years one after the
# other are quantities; English uh/um inside a number, 'add'/'and' for 'at' after an e-mail question;
# 5: cue stretches: the digits a personal word asked for, with phone-band soundalikes and garbled words
# between, over ASR's segment breaks; the context word at the end of the speaker's segment before; an
# address's shape after a question for one; 6: phone-band forms of 'number' (humber), 'card number' (car
# number) and 'reach you' (read you); a bare 'number' named by an unknown word in the speaker's own words
# (the organ number: an order number misheard) is no personal one unless my/your/our owns it;
# 7: asked replies: where the rep asked for a personal number or address itself (方便留个电话, 卡号是多少,
# "what's the best number to reach you", "your e-mail?"; not 'what phone system', not an order number) and
# nothing was found in the customer's reply, the reply is redacted as the kind asked however ASR garbled
# it ('Green the number in'), unless it declines or defers (不方便, 我加你微信吧, "I'll email it over"),
# only says 'go on' or waits, or says a quantity, a time or an amount; 油香 for 邮箱; the owner words of a
# bare 'number' as data; 8: read-outs: an English number read out digit by digit ('4-3-6-7, 4-2-0-1',
# '4, 4, 0, 1, 0, 5') is personal however garbled its question, unless it names a look-alike, counts or lists
# scores; '…, and the last four are …' goes on with the number; 'double-camera' in read-outs)
RULES_VERSION = 8
PLACEHOLDERS = {
    "zh": {"phone": "[电话]", "id": "[身份证]", "card": "[银行卡]", "email": "[邮箱]"},
    "en": {"phone": "[phone]", "id": "[id]", "card": "[card]", "email": "[email]"},
}

# --- digits as people say them --------------------------------------------------------------------

_ZH_DIGITS = {"零": "0", "〇": "0", "洞": "0", "一": "1", "幺": "1", "二": "2", "两": "2", "三": "3",
              "四": "4", "五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}
_ZH_DIGIT_CHARS = "零〇一二三四五六七八九幺两洞"
_EN_DIGITS = {"zero": "0", "oh": "0", "o": "0", "nought": "0", "one": "1", "two": "2", "three": "3",
              "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9"}
_EN_TEENS = {"ten": "10", "eleven": "11", "twelve": "12", "thirteen": "13", "fourteen": "14",
             "fifteen": "15", "sixteen": "16", "seventeen": "17", "eighteen": "18", "nineteen": "19"}
_EN_TENS = {"twenty": "2", "thirty": "3", "forty": "4", "fifty": "5", "sixty": "6", "seventy": "7",
            "eighty": "8", "ninety": "9"}
_EN_REPEAT = {"double": 2, "triple": 3, "treble": 3}
# what phone-band ASR writes for a digit word ("time" for five): nlp/data/spoken_digits.yaml
_EN_SOUNDALIKE = {said: digit for digit, words in load_yaml("spoken_digits.yaml")["en_soundalikes"].items()
                  for said in words}
_EN_SOUNDALIKE_RE = re.compile(
    "(?:" + "|".join(re.escape(w).replace(r"\ ", r"\s+")
                     for w in sorted(_EN_SOUNDALIKE, key=len, reverse=True)) + r")(?![A-Za-z'])",
    re.IGNORECASE)
_ZH_SOUNDALIKE = {said: digit for digit, chars in load_yaml("spoken_digits.yaml")["zh_soundalikes"].items()
                  for said in chars}
_DIGIT_WORDS = load_yaml("spoken_digits.yaml")
# the many more words ASR writes for a digit inside a number a personal word asked for (cue stretches)
_EN_CUE_ALIKE = {said: digit for digit, words in _DIGIT_WORDS["en_cue_soundalikes"].items() for said in words}
_EN_CUE_ALIKE_RE = re.compile(
    "(?:" + "|".join(re.escape(w) for w in sorted(_EN_CUE_ALIKE, key=len, reverse=True)) + r")(?![A-Za-z'])",
    re.IGNORECASE)
_ZH_CUE_ALIKE = {said: digit for digit, chars in _DIGIT_WORDS["zh_cue_soundalikes"].items() for said in chars}
_ZH_X = ("艾克斯", "爱克斯", "埃克斯")
_FULLWIDTH = {chr(0xFF10 + i): str(i) for i in range(10)}
# what may sit between the digits of one number: spaces, dashes, commas, a hesitation
_PLUS = re.compile(r"(?:\+|\bplus\s+|加)\s*\(?$", re.IGNORECASE)
_GAP_CHARS = set(" \t-–—,，、.·()（）…")
_FILLERS = ("嗯", "呃", "额")
_EN_GAPWORDS = ("dash", "hyphen")
_EN_FILLERS = ("uh", "um", "umm", "uhh", "er", "erm")  # a hesitation inside a number, as ASR writes it

# --- context: what the words around a number say it is --------------------------------------------

_RULES = load_yaml("redaction.yaml")


def _heard_as(word: str, kind: str) -> list[str]:
    """The word and, for a personal one, the forms Mandarin ASR writes for it (卡号 -> 卡好:
    redaction.yaml zh_homophones; a look-alike word's forms would be common words: 简单好记)."""
    forms = [word]
    for said, written in _RULES["zh_homophones"].items() if kind in KINDS else ():
        forms += [f.replace(said, w) for f in forms if said in f for w in written]
    return forms


# word -> kind (id | card | phone | neg | generic): nlp/data/redaction.yaml
_CONTEXT_KIND = {form.lower(): kind for kind, words in _RULES["context"].items() for w in words
                 for form in _heard_as(w, kind)}
_CONTEXT_RE = re.compile("|".join(sorted(map(re.escape, _CONTEXT_KIND), key=len, reverse=True)),
                         re.IGNORECASE)
# a run followed by one of these is an amount or a quantity
_UNIT_AFTER = re.compile(r"^\s*(?:元|块|毛|万|亿|台|个|件|套|张|份|人|家|天|年|月|日|号楼|号|位|条|次|"
                         r"名|辆|箱|瓶|盒|克|斤|平米|平方|度|小时|周|倍|期|栋|层|楼|寸|"
                         r"点|分|秒|岁|%|％|折|米|公斤|吨|千|百|dollars?|yuan|rmb|usd|bucks|units?|pieces?|percent|per|people|"
                         r"users?|seats?|licen[cs]es?|days?|months?|years?|hours?|minutes?|pounds?|kg|kilos?|miles?|"
                         r"employees|staff|locations|stores|offices|customers|clients|calls|orders|tickets|cases|"
                         r"deals|leads|reps|agents|members|devices|sites|shipments|invoices|meetings|million|billion|thousand|"
                         r"grand|k\b|m\b)",
                         re.IGNORECASE)
# written with thousands separators (1,500,000): an amount, however many digits (ASR writes a phone number
# 415, 555, 2671 or 415-555-2671)
_AMOUNT = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_UNIT_BEFORE = re.compile(r"(?:[¥$￥€£]|rmb|usd|第)\s*$", re.IGNORECASE)
_CONTEXT_CHARS = 24  # how far before a number its context may be, within the turn
_CUE_RE = re.compile("|".join(rf"(?<![A-Za-z]){re.escape(w)}(?![A-Za-z])" if w.isascii() else re.escape(w)
                              for w in sorted(_RULES["cue_words"], key=len, reverse=True)), re.IGNORECASE)


@dataclass
class _Atom:
    start: int  # character offsets in the turn text
    end: int
    digits: str  # "" for an X (the ID check character)
    soundalike: bool = False  # a word ASR wrote for a digit (spoken_digits.yaml): a digit only beside one
    loose: bool = False  # a cue soundalike: a digit only inside a cue stretch (never at its edges)


@dataclass
class _Run:
    turn: int
    start: int
    end: int
    digits: str
    x_end: bool = False  # ends with an ID check character X
    # the run without the soundalikes on its edges (要13812345678: the mobile is the rest), when it has any
    core: _Run | None = None
    quantities: bool = False  # round numbers one after the other (_round_groups), not one number


@dataclass
class Found:
    turn: int
    start: int  # character offsets in the turn text
    end: int
    kind: str
    value: str  # normalised: digits (phone: national form) or the address


_EN_WORD = re.compile(r"[A-Za-z]+")


def _atoms(text: str, loose: bool = False) -> list[_Atom | str]:
    """The text as digit atoms and gaps: a list of _Atom and, between them, the separator kind
    ("gap": joinable, "break": anything else). loose: the cue soundalikes are atoms too, and no soundalike
    is settled (for cue stretches, which judge them themselves)."""
    out: list[_Atom | str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isascii() and ch.isdigit():
            out.append(_Atom(i, i + 1, ch))
            i += 1
            continue
        if ch in _FULLWIDTH:
            out.append(_Atom(i, i + 1, _FULLWIDTH[ch]))
            i += 1
            continue
        if ch in _ZH_DIGITS:
            out.append(_Atom(i, i + 1, _ZH_DIGITS[ch]))
            i += 1
            continue
        if ch in _ZH_SOUNDALIKE:
            out.append(_Atom(i, i + 1, _ZH_SOUNDALIKE[ch], soundalike=True))
            i += 1
            continue
        if loose and ch in _ZH_CUE_ALIKE:
            out.append(_Atom(i, i + 1, _ZH_CUE_ALIKE[ch], soundalike=True, loose=True))
            i += 1
            continue
        spelled_x = next((x for x in _ZH_X if text.startswith(x, i)), None)  # the X of an ID as said: 艾克斯
        if spelled_x and out and isinstance(out[-1], _Atom) and out[-1].end == i and out[-1].digits:
            out.append(_Atom(i, i + len(spelled_x), ""))
            i += len(spelled_x)
            continue
        if ch in "Xx叉" and out and isinstance(out[-1], _Atom) and out[-1].end == i and \
                (ch == "叉" or not (i + 1 < n and text[i + 1].isalpha() and text[i + 1].isascii())):
            out.append(_Atom(i, i + 1, ""))
            i += 1
            continue
        if ch.isascii() and ch.isalpha():
            m = _EN_WORD.match(text, i)
            word = m.group(0)
            low = word.lower()
            alike = None if low in _EN_DIGITS or low in _EN_TEENS or low in _EN_TENS or low in _EN_REPEAT \
                or (i > 0 and text[i - 1].isalpha()) else _EN_SOUNDALIKE_RE.match(text, i)
            if alike is not None:
                said = re.sub(r"\s+", " ", alike.group(0).lower())
                out.append(_Atom(i, alike.end(), _EN_SOUNDALIKE[said], soundalike=True))
                i = alike.end()
                continue
            cue_alike = _EN_CUE_ALIKE_RE.match(text, i) if loose and (i == 0 or not text[i - 1].isalpha()) \
                else None
            if cue_alike is not None and low not in _EN_DIGITS:
                out.append(_Atom(i, cue_alike.end(), _EN_CUE_ALIKE[cue_alike.group(0).lower()],
                                 soundalike=True, loose=True))
                i = cue_alike.end()
                continue
            if low in _EN_DIGITS and (low not in ("o", "oh") or _near_digit(out) or
                                      _digit_next(text, m.end())):
                out.append(_Atom(i, m.end(), _EN_DIGITS[low]))
            elif low in _EN_TEENS:
                out.append(_Atom(i, m.end(), _EN_TEENS[low]))
            elif low in _EN_TENS:
                # twenty-one -> 21, twenty alone -> 20
                rest = re.match(r"[\s\-]+([A-Za-z]+)", text[m.end():])
                if rest and rest.group(1).lower() in _EN_DIGITS and rest.group(1).lower() not in ("o", "oh",
                                                                                                  "zero"):
                    end = m.end() + rest.end()
                    out.append(_Atom(i, end, _EN_TENS[low] + _EN_DIGITS[rest.group(1).lower()]))
                    i = end
                    continue
                out.append(_Atom(i, m.end(), _EN_TENS[low] + "0"))
            elif low in _EN_REPEAT:
                nxt = re.match(r"[\s\-]+([A-Za-z]+|\d)", text[m.end():])
                digit = None
                if nxt:
                    tok = nxt.group(1).lower()
                    digit = tok if tok.isdigit() else _EN_DIGITS.get(tok)
                if digit is not None:
                    end = m.end() + nxt.end()
                    out.append(_Atom(i, end, digit * _EN_REPEAT[low]))
                    i = end
                    continue
                # 'double-camera' (double seven) in a number being read out: a soundalike repeated, judged
                # like one (loose: only where cue stretches and read-outs look)
                alike = _EN_SOUNDALIKE.get(tok) or _EN_CUE_ALIKE.get(tok) if nxt and loose else None
                if alike is not None:
                    end = m.end() + nxt.end()
                    out.append(_Atom(i, end, alike * _EN_REPEAT[low], soundalike=True, loose=True))
                    i = end
                    continue
                out.append("break")
            elif low in _EN_GAPWORDS or (low == "and" or low in _EN_FILLERS) and _near_digit(out):
                out.append("gap")
            else:
                out.append("break")
            i = m.end()
            continue
        if ch in _GAP_CHARS:
            # a decimal point between written digits joins nothing personal
            if ch == "." and i > 0 and text[i - 1].isdigit() and i + 1 < n and text[i + 1].isdigit() \
                    and not _dotted_groups(text, i):
                out.append("break")
            else:
                out.append("gap")
            i += 1
            continue
        if ch in _FILLERS:
            out.append("gap")
            i += 1
            continue
        out.append("break")
        i += 1
    return out if loose else _settle_soundalikes(out)


def _dotted_groups(text: str, dot: int) -> bool:
    """The dot at `dot` separates groups of one number as ASR writes them (189.4556.8151, 218.4914): two
    dots or more, or three digits and more on both sides; not a decimal (2.5, 13.8, 12.99)."""
    left = re.search(r"[\d.]*$", text[:dot]).group(0)
    right = re.match(r"[\d.]*", text[dot + 1:]).group(0)
    token = left + "." + right
    if token.count(".") >= 2:
        return True
    return len(left) >= 3 and len(right) >= 3


def _settle_soundalikes(out: list[_Atom | str]) -> list[_Atom | str]:
    """A soundalike stays a digit only in a stretch (between two breaks) that holds a real digit."""
    settled: list[_Atom | str] = []
    stretch: list[_Atom | str] = []

    def close() -> None:
        real = any(isinstance(item, _Atom) and not item.soundalike for item in stretch)
        settled.extend(item if real or not isinstance(item, _Atom) or not item.soundalike else "break"
                       for item in stretch)
        stretch.clear()

    for item in out:
        if item == "break":
            close()
            settled.append(item)
        else:
            stretch.append(item)
    close()
    return settled


def _digit_next(text: str, at: int) -> bool:
    """A digit or a digit word follows (oh seven nine …: 'oh' opens a number)."""
    nxt = re.match(r"[\s,\-]*(\d|[A-Za-z]+)", text[at:])
    return nxt is not None and (nxt.group(1).isdigit() or
                                nxt.group(1).lower() in _EN_DIGITS.keys() - {"o", "oh"})


def _near_digit(out: list[_Atom | str]) -> bool:
    for item in reversed(out):
        if isinstance(item, _Atom):
            return True
        if item == "break":
            return False
    return False


def _round(digits: str) -> bool:
    """A number people round (1200, 1500, 48000): a quantity or an amount, not a group of a phone number."""
    return len(digits) >= 3 and digits.endswith(("00", "50"))


def _round_groups(text: str) -> bool:
    """The run (its text) is round numbers or years ASR joined ('1200, 1350, 1500 and 1800', '1500 to 2000
    to 2500', '2024 and 2,400,000'): its groups of two digits or more (written together; an amount with
    thousands' commas is one) are two or more, each round or a year."""
    text = _AMOUNT.sub(lambda m: m.group(0).replace(",", ""), text)
    groups = ["".join(_ZH_DIGITS.get(c, c) for c in g)
              for g in re.findall(rf"[0-9]+|[{_ZH_DIGIT_CHARS}]+", text)]
    real = [g for g in groups if len(g) >= 2]
    return len(real) >= 2 and all(_round(g) or re.fullmatch(r"(?:19|20)\d\d", g) for g in real)


def _runs(turn_index: int, text: str) -> list[_Run]:
    runs: list[_Run] = []
    current: list[_Atom] = []

    def make(atoms: list[_Atom]) -> _Run:
        start = atoms[0].start
        plus = _PLUS.search(text[:start])  # "+86 …", "plus forty four …", "(415) …": the sign goes with it
        start = plus.start() if plus else start - (start > 0 and text[start - 1] in "(（")
        return _Run(turn_index, start, atoms[-1].end, "".join(a.digits for a in atoms),
                    atoms[-1].digits == "", quantities=_round_groups(text[start:atoms[-1].end]))

    def close() -> None:
        if current:
            run = make(current)
            lo, hi = 0, len(current)
            while lo < hi and current[lo].soundalike:
                lo += 1
            while hi > lo and current[hi - 1].soundalike:
                hi -= 1
            if 0 < hi - lo < len(current):
                run.core = make(current[lo:hi])
            runs.append(run)
            current.clear()

    for item in _atoms(text):
        if isinstance(item, _Atom):
            if current and current[-1].digits == "":  # nothing follows an X
                close()
            if item.digits == "" and not current:
                continue
            current.append(item)
        elif item == "break":
            close()
    close()
    return runs


# --- what a run of digits is -----------------------------------------------------------------------


def _phone(digits: str, language: str = "zh") -> str | None:
    """The E.164 form of a valid phone number (CN first in Mandarin, US first in English, then GB and
    +CC), else None."""
    import phonenumbers

    candidates = [(digits, "CN")] if language != "en" or _china_mobile(digits) else [(digits, "US")]
    if digits.startswith("0086"):
        candidates.insert(0, ("+" + digits[2:], None))
    elif digits.startswith("86") and len(digits) >= 12:
        candidates.insert(0, ("+" + digits, None))
    candidates += [(digits, "CN"), (digits, "US"), (digits, "GB")]
    if len(digits) >= 11 and not digits.startswith("0"):
        candidates.append(("+" + digits, None))
    for raw, region in candidates:
        try:
            number = phonenumbers.parse(raw, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


def _business_number(digits: str, language: str = "zh") -> bool:
    """A number a business answers, not a person (toll-free 800 / 400, shared-cost, premium-rate, UAN)."""
    import phonenumbers

    try:  # read as said where the language is spoken (1 800 … in English is not a Chinese mobile)
        number = phonenumbers.parse(digits, "US" if language == "en" else "CN")
    except phonenumbers.NumberParseException:
        return False
    kinds = phonenumbers.PhoneNumberType
    return phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in (
        kinds.TOLL_FREE, kinds.SHARED_COST, kinds.PREMIUM_RATE, kinds.UAN)


def _china_mobile(digits: str) -> bool:
    return len(digits) == 11 and digits[0] == "1" and digits[1] in "3456789"


def _resident_id(digits: str, x_end: bool) -> bool:
    from stdnum.cn import ric

    value = digits + ("X" if x_end else "")
    return len(value) == 18 and ric.is_valid(value)


_PROVINCES = {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
              "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
              "65", "71", "81", "82"}


def _id_like(digits: str, x_end: bool) -> bool:
    """An ID number with a digit dropped or changed: 16-18 characters, a province code and a birth date."""
    n = len(digits) + (1 if x_end else 0)
    if not 16 <= n <= 19 or digits[:2] not in _PROVINCES:
        return False
    for offset in (6, 5, 7):  # where the birth date sits, give or take a dropped digit before it
        date = digits[offset:offset + 8]
        if len(date) == 8 and date[:2] in ("19", "20") and 1 <= int(date[4:6]) <= 12 and \
                1 <= int(date[6:8]) <= 31:
            return True
    return False


def _card(digits: str, context: str | None) -> bool:
    from stdnum import luhn

    if not 13 <= len(digits) <= 19 or not luhn.is_valid(digits):
        return False
    if context == "card":
        return True
    # no word says card: only a card-like issuer prefix and length (UnionPay 62, Visa 4, Mastercard 5,
    # Amex 34/37) counts; a Luhn pass alone is one number in ten
    return len(digits) in (15, 16, 19) and (digits[0] in "45" or digits[:2] in ("62", "34", "37"))


def _date_like(digits: str) -> bool:
    if len(digits) != 8:
        return False
    year, month, day = int(digits[:4]), int(digits[4:6]), int(digits[6:8])
    return 1900 <= year <= 2099 and 1 <= month <= 12 and 1 <= day <= 31


def classify(digits: str, x_end: bool = False, context: str | None = None,
             unit: bool = False, language: str = "zh") -> tuple[str, str] | None:
    """(kind, normalised value) for a run of digits said in `context` (id | card | phone | neg | None),
    or None when it is not personal. unit: the run is followed by a unit or currency (元, dollars)."""
    n = len(digits)
    if n < 7:
        return None
    if _resident_id(digits, x_end):
        return "id", digits + ("X" if x_end else "")
    if context == "neg" or (unit and context is None) or _business_number(digits, language):
        return None
    if context == "id" and 14 <= n + x_end <= 20:
        return "id", digits + ("X" if x_end else "")
    if x_end and _id_like(digits, x_end):
        return "id", digits + "X"
    if _card(digits, context):
        return "card", digits
    # said in Mandarin with nothing around to say phone, a number is one as people say them: a mobile (1…),
    # a landline with its area code (0…), +86 (739 4766669 parses as a landline, but nobody says one so)
    plain = context is not None or language == "en" or _china_mobile(digits) or digits.startswith(("0", "86"))
    if context in (None, "phone") and plain and (
            _china_mobile(digits) or (digits.startswith("0") and 10 <= n <= 12) or n in (10, 11, 12, 13)):
        phone = _phone(digits, language)
        if phone is not None and not (context is None and _date_like(digits)):
            if context is None and not _china_mobile(digits) and digits.startswith(("19", "20")) and n >= 12:
                pass  # 2024… order-like numbers that happen to parse abroad
            else:
                return "phone", phone
    if _id_like(digits, x_end) and context in (None, "id", "card", "phone"):
        return "id", digits
    # a run of seven digits or more in a personal context whose checks fail (ASR drops and changes digits),
    # unless an amount (账户余额 1280000 元; nobody says one of twelve digits) or a date (until 20301231)
    if n == 8 and _date_like(digits):
        return ("phone", digits) if context == "phone" else None
    if unit and n < 12:  # 'the call … 4155552 units': only a number that dials is a phone before a unit
        return ("phone", digits) if context == "phone" and _phone(digits, language) else None
    if context == "card":
        return "card", digits
    if context == "id":
        return "id", digits + ("X" if x_end else "")
    if context == "phone":
        return "phone", digits
    return None


def _context_kind(before: str, earlier: list[str]) -> str | None:
    """The kind the nearest context word names: in the turn before the number, else in the earlier turns
    (the question that asked for it, nearest first). A word that only says "number" takes the kind of an
    earlier, specific one ("What's the ticket?" "The number is …"), else means a phone number. When the
    question names an order, a ticket … and the answer a personal word ("it's on my account"), only the
    checks decide (None)."""
    own = _named(before[-_CONTEXT_CHARS:])
    asked = next((kind for kind in (_named(text, question=True) for text in earlier)
                  if kind not in (None, "generic")), None)
    if own == "generic" or (own is None and asked is None and any(
            _named(text, question=True) == "generic" for text in earlier)):
        return asked or "phone"
    if own is not None:
        return None if asked == "neg" and own != "neg" else own
    return asked


_DOUBLED = re.compile(r"\b([A-Za-z]+)(?:\s+\1\b)+", re.IGNORECASE)  # ASR's 'the last last', 'code code'
_POSSESSIVE = re.compile(r"(?:\b(?:your|my|our)|您的|你的|我的|您|你)\s*(?:\w+\s+)?$", re.IGNORECASE)


def _named(text: str, question: bool = False) -> str | None:
    """The kind a context word in text names (the last one; in a question the one after 'your', 您的),
    'generic' for a bare 'number', or None."""
    text = _DOUBLED.sub(r"\1", text)  # ASR writes a word twice: 'area code code' names no code
    hits = [h for h in _CONTEXT_RE.finditer(text)
            if not h.group(0).isascii() or _word_bounded(text, h.start(), h.end())]
    if not hits:
        return None
    pick = len(hits) - 1
    if question:
        owned = [k for k, h in enumerate(hits) if _POSSESSIVE.search(text[:h.start()])]
        pick = owned[-1] if owned else pick
    kind = _CONTEXT_KIND[hits[pick].group(0).lower()]
    # 'ticket number', '卡的号码': a bare number word is what the word just before it says; so is an English
    # personal word right after a look-alike's ('order ID', 'transaction ID'; not 价格微信: price by WeChat)
    if pick > 0 and re.fullmatch(r"[\s的]{0,2}", text[hits[pick - 1].end():hits[pick].start()]):
        before = _CONTEXT_KIND[hits[pick - 1].group(0).lower()]
        english = (hits[pick - 1].group(0) + hits[pick].group(0)).isascii()
        if kind == "generic" or (before == "neg" and english):
            kind = before
    elif kind == "generic" and not question and _unknown_namer(text[:hits[pick].start()]):
        kind = "neg"
    return kind


_GENERIC_MODIFIERS = {str(w).lower() for w in _RULES["generic_modifiers"]}
_NUMBER_OWNERS = {str(w).lower() for w in _RULES["number_owners"]}
_NAMER = re.compile(r"(?:\b(\w+)\s+)?\b([a-z][a-z']*)[\s-]*$", re.IGNORECASE)


def _unknown_namer(before: str) -> bool:
    """Whether the English word just before a bare 'number' names some kind no context word is (the
    organ number: an order number misheard), with no owner word (redaction.yaml number_owners: my, your,
    our) before it. Only in the speaker's own words: a question garbles more ('In the record number for
    you': a good number for you)."""
    m = _NAMER.search(before)
    if m is None or not m.group(2).isascii():
        return False
    owner = (m.group(1) or "").lower()
    return m.group(2).lower() not in _GENERIC_MODIFIERS and owner not in _NUMBER_OWNERS


def _word_bounded(text: str, start: int, end: int) -> bool:
    left = start == 0 or not text[start - 1].isalnum() or not text[start - 1].isascii()
    right = end == len(text) or not text[end].isalnum() or not text[end].isascii()
    return left and right


# --- e-mail addresses --------------------------------------------------------------------------------

_TLD = "(?:" + "|".join(re.escape(str(t)).replace(r"\ ", r"\s+")
                        for t in sorted(_RULES["top_level_domains"], key=len, reverse=True)) + ")"
_EN_USER = r"(?:[a-z0-9]+(?:\s*(?:\.|dot|underscore|_|dash|-|hyphen)\s*[a-z0-9]+)*)"
_EN_SPELLED = r"(?:(?:[a-z0-9]\s+){2,}[a-z0-9])"
_EMAIL_WRITTEN = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
_EMAIL_EN = re.compile(
    rf"(?<!['’])\b({_EN_SPELLED}|{_EN_USER})(?:\s+at\s+|\s*@\s*)((?!at\b)[a-z0-9\-]+(?:\s+(?!at\b)[a-z0-9\-]+){{0,3}}?"
    rf"(?:\s*(?:\.|dot)\s*[a-z0-9\-]+)*?)"
    rf"\s*(?:\.|\bdot|点)\s*{_TLD}\b(?:\s*(?:\.|\bdot|点)\s*(?:cn|uk|hk|au|sg|tw)\b)?", re.IGNORECASE)
# 'at' as ASR hears it ('jsmith add acme dot com'): the same pattern, read only after a question for one
_AT_HEARD = r"\s+(?:" + "|".join(load_yaml("spoken_digits.yaml")["en_address_soundalikes"]["at"]) + r")\s+"
_EMAIL_EN_HEARD = re.compile(_EMAIL_EN.pattern.replace(r"(?:\s+at\s+|\s*@\s*)", _AT_HEARD), re.IGNORECASE)
_EMAIL_ANSWER = re.compile(r"(?:^|\b)(?:it's|it\s+is|e-?mail\s+is|mail\s+is|address\s+is|邮箱是)\s*"
                           r"([^。！!？?]{3,60}?)[\s.。！!,，]*$", re.IGNORECASE)
_ADDRESS_LIKE = re.compile(r"\bat|@|\bdot\b|\bcom\b|艾特|点com", re.IGNORECASE)
_ADDRESS_SOUNDALIKES = load_yaml("spoken_digits.yaml")["en_address_soundalikes"]
# how a reply ends that gives an address, even one ASR garbled past reading ("If we cannot not win.com.")
_ADDRESS_END = re.compile(
    r"(?:\.|\b(?:" + "|".join(["dot", *_ADDRESS_SOUNDALIKES["dot"]]) + r")\s+|点)\s*"
    r"(?:com|net|org|cn|io|co|edu|" + "|".join(_ADDRESS_SOUNDALIKES["com"]) + r")\b[\s.。!！]*$",
    re.IGNORECASE)
REPLY_WORDS = 12  # a reply to 'your e-mail?' this short that ends like an address is taken whole
# the shape of a spoken address however ASR heard its words: an 'at' (add, and …), then a 'dot' (not, lot …)
# or a top-level domain ('a pretty rough and so-so not the O'); a reply of SHAPE_WORDS or fewer to a
# question for an address that has it is taken whole
_ADDRESS_SHAPE = re.compile(
    r"(?:\b(?:at|" + "|".join(_ADDRESS_SOUNDALIKES["at"]) + r")\b|@|艾特|爱特|埃特).*?"
    r"(?:\b(?:dot|" + "|".join(_ADDRESS_SOUNDALIKES["dot"]) + r")\b|点|\.(?=[A-Za-z]{2})|"
    r"\b(?:com|net|org|" + "|".join(_ADDRESS_SOUNDALIKES["com"]) + r")\b)", re.IGNORECASE)
SHAPE_WORDS = 16
_EMAIL_GLUED = re.compile(rf"\b([a-z0-9._\-]+?)at([a-z0-9\-]+\.{_TLD})\b", re.IGNORECASE)
_ZH_DIGIT_CLASS = "零〇一二三四五六七八九幺"
_ZH_USER = rf"[A-Za-z0-9_\-{_ZH_DIGIT_CLASS}]+(?:\s*(?:点|\.|下划线|杠)\s*[A-Za-z0-9{_ZH_DIGIT_CLASS}]+)*"
_EMAIL_ZH = re.compile(
    rf"({_ZH_USER})\s*(?:艾特|爱特|埃特|@|圈a|圈A)\s*([A-Za-z0-9\-{_ZH_DIGIT_CLASS}]+"
    rf"(?:\s*(?:点|\.)\s*[A-Za-z0-9\-]+)*?)\s*(?:点|\.|dot)\s*{_TLD}(?![A-Za-z])", re.IGNORECASE)
_NOT_USERS = {"us", "me", "him", "her", "them", "it", "look", "visit", "site", "website", "is", "be",
              "here", "there", "you", "we", "i", "www", "home", "online", "web", "page", "go", "to"}


# an address's spoken user part may be several words: "my email is zhang wei at …" takes "zhang wei"
_EMAIL_LEAD = re.compile(r"(?:e-?mail(?:\s+address)?(?:\s+is)?|mail\s+is|address\s+is|it's|it\s+is|"
                         r"(?:send|sent|forward|mail)(?:\s+(?:it|them|this|that|everything|the\s+\w+))?"
                         r"(?:\s+over)?\s+to|邮箱(?:地址)?是?)[\s:：,，]*((?:(?!at\b)[A-Za-z0-9]+\s+){1,4})$",
                         re.IGNORECASE)


def _spoken_address(text: str) -> str:
    """A spoken address as typed: 'john dot li at gmail dot com' -> john.li@gmail.com,
    'li na eighty eight at q q dot com' -> lina88@qq.com."""
    words = re.findall(r"[A-Za-z]+|[^A-Za-z]+", text.lower())
    spoken: list[str] = []
    for k, word in enumerate(words):
        if word in _EN_DIGITS and word not in ("o", "oh"):
            spoken.append(_EN_DIGITS[word])
        elif word in _EN_TEENS:
            spoken.append(_EN_TEENS[word])
        elif word in _EN_TENS:
            nxt = words[k + 2] if k + 2 < len(words) and words[k + 1].isspace() else ""
            spoken.append(_EN_TENS[word] + ("" if nxt in _EN_DIGITS and nxt not in ("o", "oh", "zero")
                                            else "0"))
        else:
            spoken.append(word)
    out = "".join(spoken)
    for said, typed in ((r"\s*(?:\bdot\b|点|\.)\s*", "."), (r"\s*(?:\bunderscore\b|下划线|_)\s*", "_"),
                        (r"\s*(?:\bdash\b|\bhyphen\b|杠)\s*", "-"),
                        (r"\s*(?:\bat\b|艾特|爱特|埃特|圈a|@)\s*", "@")):
        out = re.sub(said, typed, out)
    out = "".join(_ZH_DIGITS.get(c, c) for c in out)
    return re.sub(r"\s+", "", out)


def _word_list_re(words: list[str]) -> re.Pattern[str]:
    """Words, English ones whole (with a plural), Chinese ones anywhere."""
    return re.compile("|".join(rf"(?<![A-Za-z]){re.escape(w)}(?:e?s)?(?![A-Za-z])" if w.isascii()
                               else re.escape(w) for w in sorted(words, key=len, reverse=True)),
                      re.IGNORECASE)


_EMAIL_CONTEXT = _word_list_re(_RULES["email_words"])
_SEND_CONTEXT = _word_list_re(_RULES["send_words"] + _RULES["reach_words"])
_MAIL_DOMAINS = {str(d).lower() for d in _RULES["mail_domains"]}
_EMAIL_PROVIDER = re.compile(rf"\b({_EN_USER})\s+at\s+(?:{'|'.join(sorted(map(re.escape, _MAIL_DOMAINS)))})\b"
                             r"(?!\s*(?:\.|dot|点)\s*[a-z])", re.IGNORECASE)


_ASK_SEND = _word_list_re(_RULES["send_words"])
# a reply that points to a website, not an address ('find us at northwind dot com')
_WEBSITE = re.compile(r"\b(?:us|visit|site|website|web|www|online|page)\b", re.IGNORECASE)


def _asks_for_address(earlier: tuple[str, ...], reply: str) -> bool:
    """The reply answers a question for an e-mail address (or names one itself), or one for where to send
    something and points to no website."""
    question = earlier[-1] if earlier else ""
    if _EMAIL_CONTEXT.search(question) or _EMAIL_CONTEXT.search(reply):
        return True
    return _ASK_SEND.search(question) is not None and _WEBSITE.search(reply) is None


def _emails(text: str, earlier: tuple[str, ...] = ()) -> list[tuple[int, int, str]]:
    """Addresses in text: written (a@b.com), spoken in Mandarin (…艾特…点com), or spoken in English
    ('… at … dot com'), the last only where the words around ask for or name an e-mail address or the
    address is spelled with dots or underscores (else 'visit us at acme.com' would be one)."""
    found: list[tuple[int, int, str]] = []
    asked = any(_EMAIL_CONTEXT.search(t) for t in (text, *earlier))
    # 'where should I send the contract?' 'send it to …': the spoken forms count, not a bare reply
    sent = asked or any(_SEND_CONTEXT.search(t) for t in (text, *earlier))

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e, _ in found)

    for m in _EMAIL_WRITTEN.finditer(text):
        found.append((m.start(), m.end(), m.group(0).lower()))
    if sent and not found:
        # the answer to 'your e-mail?' that ASR garbled past any pattern ("It's Maria Attack Minotio" for
        # maria at acme dot io): a short reply with something address-like in it is taken whole
        m = _EMAIL_ANSWER.search(text) if asked else None
        if m and len(m.group(1).split()) <= 6 and _ADDRESS_LIKE.search(m.group(1)):
            found.append((m.start(1), m.end(1), _spoken_address(m.group(1))))
            return found
        if (len(text.split()) <= REPLY_WORDS and _ADDRESS_END.search(text) or
                len(text.split()) <= SHAPE_WORDS and _ADDRESS_SHAPE.search(text) and
                _asks_for_address(earlier, "")) and _asks_for_address(earlier, text):
            body = text.strip().rstrip(".。!！ ")
            start = text.index(body)
            found.append((start, start + len(body), _spoken_address(body)))
            return found
    if sent:  # ASR glues the spoken 'at' on: 'my mail is nyat163.com'
        for m in _EMAIL_GLUED.finditer(text):
            if free(m.start(), m.end()) and m.group(1).lower() not in _NOT_USERS:
                found.append((m.start(), m.end(), f"{m.group(1)}@{m.group(2)}".lower()))
    # 'at' heard as 'add', 'and': only in the reply to the question for an address, or naming one itself
    just_asked = _EMAIL_CONTEXT.search(text) is not None or bool(earlier) and \
        _EMAIL_CONTEXT.search(earlier[-1]) is not None
    for pattern in (_EMAIL_EN, _EMAIL_ZH, *((_EMAIL_EN_HEARD,) if just_asked else ())):
        for m in pattern.finditer(text):
            user = m.group(1).strip().lower()
            if user in _NOT_USERS or (pattern is _EMAIL_ZH and not user):
                continue
            if user.startswith("www") or not free(m.start(), m.end()):
                continue
            spelled = re.search(r"\s(?:dot|underscore)\s|[._]", m.group(1), re.IGNORECASE) is not None or \
                re.fullmatch(_EN_SPELLED, user) is not None
            # an address whatever was asked: at a mail provider, or a user part with digits (no website's)
            known = _spoken_address(m.group(2)).split(".")[0] in _MAIL_DOMAINS or \
                re.search(r"\d", _spoken_address(m.group(1))) is not None
            if pattern is _EMAIL_EN and not sent and not spelled and not known:
                continue
            start = m.start()
            lead = _EMAIL_LEAD.search(text[:start])
            if lead is not None and lead.group(1).strip().lower() not in _NOT_USERS:
                start = lead.start(1)
            said = text[start:m.end()]
            if pattern is _EMAIL_EN_HEARD:
                said = re.sub(_AT_HEARD, " at ", said, count=1, flags=re.IGNORECASE)
            found.append((start, m.end(), _spoken_address(said)))
    if just_asked:  # 'it's t reed at icloud': a mail provider, its domain unsaid
        for m in _EMAIL_PROVIDER.finditer(text):
            if free(m.start(), m.end()) and m.group(1).strip().lower() not in _NOT_USERS:
                found.append((m.start(), m.end(), _spoken_address(m.group(0)) + ".com"))
    return found


# --- the transcript ------------------------------------------------------------------------------------


def _words_re(words: list[str]) -> str:
    return "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in sorted(words, key=len, reverse=True))


# what a speaker says before the rest of a number split over two turns: any of these, one after the other
_LEAD_IN = re.compile(rf"^[\s，,、。.…\-]*(?:(?:{_words_re(_RULES['lead_ins'])})(?![A-Za-z])"
                      r"[\s，,、。.：:…]*)*", re.IGNORECASE)
_END_PUNCT = re.compile(r"[\s，,、。.！!？?…-]*$")
_REPEAT_ASK = re.compile(rf"(?:{_words_re(_RULES['repeat_asks'])})(?![A-Za-z])", re.IGNORECASE)
_CORRECTION = re.compile(rf"(?:{_words_re(_RULES['corrections'])})(?![A-Za-z])", re.IGNORECASE)
# the words between two pieces of one number read out ('…628, and the last four are, uh, …'), all of them
_CONTINUATION = re.compile(rf"[\s,，.…\-]*(?:and\s+)?(?:then\s+)?(?:{_words_re(_RULES['continuations'])})"
                           r"(?:\s+(?:are|is|were|was))?[\s,，.:…\-]*(?:(?:uh|um|er)[\s,，.…\-]*)?",
                           re.IGNORECASE)


def _continues(between: str) -> bool:
    """The text between two pieces of a number says only that the rest of it follows."""
    return _CONTINUATION.fullmatch(_DOUBLED.sub(r"\1", between)) is not None


_SENTENCE_END = re.compile(r"[。？！?!]")
_QUESTION = re.compile(r"[？?吗呢]")
_PUNCT_ONLY = re.compile(r"[\s。.，,、…\-]{1,3}")
_DATE_GAP = re.compile(r"^(?:st|nd|rd|th)\b|[:/：]", re.IGNORECASE)
SPLIT_GAP_S = 10.0  # the most time between the two parts of a number split over turns
SPLIT_DIGITS = 9  # a number split over turns this long is personal with no context word
EARLIER_TURNS = 5  # how many turns back the question of a number may be, over back-channels and waits


def _lengths(text: str) -> tuple[int, int]:
    """(English words, Chinese characters) of a text: how long a piece is in either language."""
    return len(re.findall(r"[A-Za-z']+", text)), len(re.findall(r"[\u3400-\u9fff]", text))


def _back_channel(text: str) -> bool:
    """A turn that says nothing but 'go on' (嗯, 好的然后呢, Got it, Mm-hmm): no context word, few words."""
    if _CONTEXT_RE.search(text):
        return False
    words, cjk = _lengths(text)
    return cjk <= _RULES["back_channel_chars"] and words <= _RULES["back_channel_words"]


def _strong(digits: str, x_end: bool, language: str, context: str | None = None) -> bool:
    """The digits are a whole number by their own checks (checksum, numbering plan), long enough not to
    be a piece of one by chance, and of the kind the context says where it says one (in a card context a
    piece that parses as a Malaysian mobile is still a piece)."""
    if len(digits) < 10:
        return False
    got = classify(digits, x_end, None, language=language)
    return got is not None and (context not in KINDS or got[0] == context)


# --- cue stretches: the digits a personal word asked for, as garbled as phone-band ASR writes them ----

CUE_DIGITS = 5  # the fewest digits (or words heard for one) a cue stretch holds; a personal number has 7+
CUE_GAP_WORDS = 2  # the most English words between two digits of one stretch ('time camera 93')
CUE_GAP_CHARS = 2  # the most Chinese characters between two digits of one stretch (以及1假要38…)
# a number read out digit by digit (read-outs): this many lone digits, this many digits in all (a personal
# number has 10 or more; ASR drops one or two), and lone digits and soundalikes this share of its pieces
READOUT_SINGLES = 6
READOUT_DIGITS = 10
READOUT_SHARE = 0.6
# what ends a stretch: a date, a time, an amount, a unit
_CUE_STOP = re.compile(
    r"[年月日号点分秒午元块毛万千百十个台岁周%$¥￥€£:/：]|\b(?:jan(?:uary)?|feb(?:ruary)?|march|april|may|"
    r"june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|mondays?|tuesdays?|"
    r"wednesdays?|thursdays?|fridays?|saturdays?|sundays?|today|tomorrow|am|pm|a\.m|p\.m|o'clock|noon|"
    r"hundred|thousand|million|billion|percent|per|dollars?|bucks|yuan|st|nd|rd|th)\b", re.IGNORECASE)
# a plural right after a number: it counts things ('45 lines', '415 heaven 55 lines')
_PLURAL_AFTER = re.compile(r"^\s*(?!thanks\b|cheers\b)[A-Za-z]{3,}s\b", re.IGNORECASE)
# a number said as a guess is a quantity ('about 40 to 45', '大概四十五')
_APPROX = re.compile(r"(?:\b(?:about|around|roughly|approximately|maybe|nearly|almost|over|under|some)|"
                     r"大概|大约|差不多|将近|估计)[\s,，]*$", re.IGNORECASE)


@dataclass
class _Stretch:
    turn: int
    start: int  # character offsets in the turn text
    end: int
    digits: str
    real: int  # digits said as digits (not heard as another word)
    garbled: bool  # a soundalike in it, or a word between its digits
    singles: int = 0  # digits said one by one: a lone digit ('4-3-6-7', '4, 4, 0, 1', 'four four oh')
    alikes: int = 0  # words heard for a digit (soundalikes) in it


def _cue_gap(gap: str) -> bool:
    """Two digits with `gap` between may be one number ASR garbled: a few words, no date, amount, unit,
    question or look-alike's name."""
    words, cjk = _lengths(gap)
    if words > CUE_GAP_WORDS or cjk > CUE_GAP_CHARS:
        return False
    if _CUE_STOP.search(gap) or _UNIT_AFTER.match(gap) or _PLURAL_AFTER.match(gap):
        return False
    # a question between words ends the number ('…, right? And 2 more'); a bare one is a reader's rising
    # voice in a list ('415? 555?')
    if re.search(r"[?？]", gap) and not _tight(gap):
        return False
    return not any(_CONTEXT_KIND[h.group(0).lower()] == "neg" and
                   (not h.group(0).isascii() or _word_bounded(gap, h.start(), h.end()))
                   for h in _CONTEXT_RE.finditer(gap))


def _tight(gap: str) -> bool:
    return re.search(r"[A-Za-z\u3400-\u9fff]", gap) is None


def _cue_stretches(turn_index: int, text: str) -> list[_Stretch]:
    """The stretches of a turn that may be one number: its digits, digit words and soundalikes (cue ones
    too) with little between (_cue_gap), without cue soundalikes on the edges."""
    atoms = [a for a in _atoms(text, loose=True) if isinstance(a, _Atom)]
    while True:  # a cue soundalike counts only right between two digits (是, 就, 我 are everywhere)
        kept = [a for k, a in enumerate(atoms) if not a.loose or 0 < k < len(atoms) - 1 and
                _tight(text[atoms[k - 1].end:a.start]) and _tight(text[a.end:atoms[k + 1].start])]
        if len(kept) == len(atoms):
            break
        atoms = kept
    groups: list[list[_Atom]] = []
    for atom in atoms:
        if groups and _cue_gap(text[groups[-1][-1].end:atom.start]):
            groups[-1].append(atom)
        else:
            groups.append([atom])
    out: list[_Stretch] = []
    for group in groups:
        # a quantity said after the number, a word or two on ('…五，最后一位'), is no part of it
        while len(group) > 1 and _UNIT_AFTER.match(text[group[-1].end:]) and \
                not _tight(text[group[-2].end:group[-1].start]):
            group.pop()
        if group:
            garbled = any(a.soundalike for a in group) or any(
                not _tight(text[x.end:y.start]) for x, y in itertools.pairwise(group))
            out.append(_Stretch(turn_index, group[0].start, group[-1].end, "".join(a.digits for a in group),
                                sum(len(a.digits) for a in group if not a.soundalike), garbled,
                                sum(_lone_digit(text, a) for a in group), sum(a.soundalike for a in group)))
    return out


COUNTING_RUN = 5  # this many digits up or down by one ('1, 2, 3, 4, 5'): counting, not a number read out


def _counting(digits: str) -> bool:
    """The digits count up or down somewhere (items 1, 2, 3, 4, 5 …, 9, 8, 7, 6, 5): a list, not a number."""
    for step in (1, -1):
        length = 1
        for x, y in itertools.pairwise(digits):
            length = length + 1 if int(y) - int(x) == step else 1
            if length >= COUNTING_RUN:
                return True
    return False


def _scores(said: str) -> bool:
    """Every dashed group is a pair, three or more of them ('3-2, 1-0, 2-2, 4-1'): scores or ratios, not a
    number read out in groups (ASR writes '4-3-6-7, 4-2-0-1')."""
    groups = re.findall(r"\d(?:-\d)+", said)
    return len(groups) >= 3 and all(len(g) == 3 for g in groups)


def _lone_digit(text: str, atom: _Atom) -> bool:
    """The atom is one digit said on its own: a digit word, or a numeral with no numeral touching it
    (ASR writes a number read digit by digit '4-3-6-7' or '4, 4, 0, 1'; a price or a year it writes
    whole)."""
    if atom.soundalike or len(atom.digits) != 1:
        return False
    return not (atom.start > 0 and text[atom.start - 1].isdigit() or
                atom.end < len(text) and text[atom.end].isdigit())


def _at_break(text: str) -> bool:
    """What sits between a stretch and ASR's segment break lets it go on over it: punctuation, lead-ins and
    hesitations (嗯, uh, and then), or one word that names nothing (a digit ASR garbled past any list)."""
    if _END_PUNCT.fullmatch(text) or _LEAD_IN.fullmatch(text):
        return True
    words, cjk = _lengths(text)
    return words <= 1 and cjk <= 1 and _CONTEXT_RE.search(text) is None and re.search(r"[?？]", text) is None


_PLACEHOLDER = re.compile("|".join(re.escape(mark) for marks in PLACEHOLDERS.values()
                                    for mark in marks.values()))


# --- rules 7: the answer to a question for a personal number, however ASR garbled it --------------------


def _phrases(words: list[str]) -> str:
    """Words as one alternation: English ones on word boundaries (spaces flexible), Chinese ones anywhere."""
    def one(word: str) -> str:
        said = re.escape(word).replace(r"\ ", r"\s+")
        return rf"(?<![A-Za-z']){said}(?![A-Za-z'])" if word.isascii() else said

    return "|".join(one(w) for w in sorted({str(w) for w in words}, key=len, reverse=True))


def _ask_kinds() -> dict[str, str]:
    """Ask word (lower case) -> the kind it asks for (generic: a bare 'number', the question says which)."""
    kinds = {w.lower(): _CONTEXT_KIND.get(w.lower(), "generic") for w in map(str, _RULES["cue_words"])}
    mine = {str(w).lower() for w in _RULES["ask_not_cues"]}
    kinds = {w: k for w, k in kinds.items() if k in (*KINDS, "generic") and w not in mine}
    for kind, words in _RULES["ask_words"].items():
        kinds.update({str(w).lower(): kind for w in words})
    kinds.update({str(w).lower(): "phone" for w in _RULES["ask_reach"]})
    return kinds


_ASK_KIND = _ask_kinds()
_ASK_RE = re.compile(_phrases(list(_ASK_KIND)), re.IGNORECASE)
_ASK_REACH = {str(w).lower() for w in _RULES["ask_reach"]}
_ASK_WEAK = {str(w).lower() for w in _RULES["ask_weak"]}
_ASK_CARD_BEFORE = re.compile(rf"(?:{_phrases(_RULES['ask_card_before'])})\s*$", re.IGNORECASE)
_ASK_SEND = re.compile(_phrases(_RULES["send_words"]), re.IGNORECASE)
_ASK_SEND_WHERE = re.compile(_phrases(_RULES["ask_send_where"]), re.IGNORECASE)
_ASK_TAILS_EN = {str(w).lower() for w in _RULES["ask_tails_en"]}
_COMPOUND_HEADS = {str(w).lower() for w in _RULES["compound_heads"]}
_ASK_TAIL_ZH = re.compile(_phrases(_RULES["ask_tails_zh"]))
_ASK_NOT = re.compile(_phrases(_RULES["ask_not"]), re.IGNORECASE)
_ASK_FORM_EN = re.compile(rf"^(?:(?:and|so|okay|ok|great|perfect|thanks|alright|right|now|then|also|lastly|"
                          rf"finally|oh|well)\b[\s,]*)*(?:{_phrases(_RULES['ask_forms_en'])})", re.IGNORECASE)
_ASK_FORM_ZH = re.compile(_phrases(_RULES["ask_forms_zh"]))
# (over 您的 and a word or two of Chinese between: 发到您的工作邮箱)
_ASK_OWNED = re.compile(rf"(?:{_phrases(_RULES['ask_owners_not'])})[\s的个]*"
                        r"(?:(?:您|你)的?[\u3400-\u9fff]{0,2})?[\s的个]*$", re.IGNORECASE)
_ASK_NUMBER_BEFORE = re.compile(rf"(?:{_phrases(_RULES['ask_number_before'])})\s*$", re.IGNORECASE)
_ASK_YOURS = re.compile(rf"(?:{_phrases(_RULES['ask_yours'])})\s*$", re.IGNORECASE)
_ASK_SHORT_YOURS = re.compile(rf"(?:{_phrases(_RULES['ask_short_yours'])})\s*$", re.IGNORECASE)
_ASK_PHRASES = {str(w).lower() for words in _RULES["ask_words"].values() for w in words if " " in str(w)}
_ASK_REACH_WH = re.compile(_phrases(_RULES["ask_reach_wh"]), re.IGNORECASE)
_SENTENCE = re.compile(r"[^。！!？?；;.]+[。！!？?；;.]*")
# a clause's parts: between commas, and between the spaces some write for them (留了电话 现在方便吗)
_COMMA_PART = re.compile(r"(?:[^，,、\s]|(?<![\u3400-\u9fff])\s|\s(?![\u3400-\u9fff]))+[，,、\s]*")
_ASK_NUMBER_VERB = re.compile(_phrases(_RULES["ask_number_verbs"]))
ASK_SENTENCES = 2  # the ask is in the rep's last sentences
ASK_FORM_CHARS = 30  # an English ask form at a sentence's start asks for a word this close after it
ASK_SHORT_WORDS = 8  # a sentence this short with 'your …' in it asks, however ASR wrote it (8 English words,
ASK_SHORT_CHARS = 12  # 12 Chinese characters)
_DECLINE = re.compile(_phrases(_RULES["reply_declines"]), re.IGNORECASE)
_DECLINE_FIRST = re.compile(rf"^[\s,，.。…-]*(?:{_phrases(_RULES['reply_declines_first'])})", re.IGNORECASE)
_GO_ON = re.compile(rf"(?:{_phrases(_RULES['reply_back_channels'] + _RULES['lead_ins'])}|[\s,，.。!！…\-])+",
                    re.IGNORECASE)
_WAIT = re.compile(_phrases(_RULES["reply_waits"]), re.IGNORECASE)
_PLACE = re.compile(_phrases(_RULES["reply_places"]), re.IGNORECASE)
_REPLY_NUMBER = re.compile(_phrases(_RULES["reply_number_words"]), re.IGNORECASE)
_LETTER_UNIT = re.compile(r"^\s*[km]\b", re.IGNORECASE)  # '0.94K': a letter alone is a weak unit
REPLY_TURNS = 3  # the most customer turns of one reply (ASR's segments)
REPLY_MAX_WORDS = 24  # a reply turn longer than this (English words, or Chinese characters) says more
REPLY_MAX_CHARS = 36
REPLY_NUMBER_CHARS = 24  # how far into the reply its word for a number may be, after a question naming a kind
REPLY_GAP_S = 30.0  # the most time from the question to a turn of its reply
WAIT_WORDS = 8  # a turn with a wait in it this short only waits ('Hold on, let me pull it up')


def _last_sentences(text: str) -> list[str]:
    """The turn's last ASK_SENTENCES sentences (a sentence of a word or two, 'Thanks.', adds one more)."""
    sentences = [m.group(0) for m in _SENTENCE.finditer(text) if m.group(0).strip()]
    take, k = [], len(sentences)
    while k > 0 and len([t for t in take if len(t.split()) > 2 or len(t.strip()) > 4]) < ASK_SENTENCES:
        k -= 1
        take.insert(0, sentences[k])
    return take


def _asks_back(text: str) -> bool:
    """The customer's turn is a question ('Which one?', 首付是网签当天付吗, 多少啊)."""
    return re.search(r"[?？]|[吗呢][。.!！]?\s*$|多少|什么|怎么|为什么", text) is not None


def _asks_in_clause(clause: str, hit: re.Match[str]) -> bool:
    """The ask word `hit` in the rep's clause asks for the customer's number itself: the clause asks
    (a question or a request), the word is no one else's and no compound's ('phone system', 手机壳)."""
    word = hit.group(0).lower()
    kind = _ASK_KIND[re.sub(r"\s+", " ", word)]
    before, after = clause[:hit.start()], clause[hit.end():]
    english = hit.group(0).isascii()
    words, cjk = _lengths(clause)
    short = words <= ASK_SHORT_WORDS and cjk <= ASK_SHORT_CHARS and \
        (_ASK_SHORT_YOURS.search(before) is not None or word in _ASK_PHRASES)
    if short:
        pass  # 'Your direct line,', 'The best number three to', 您的手机号是。: a question ASR wrote flat
    elif english:
        lead = len(clause) - len(clause.lstrip())
        if not (clause.rstrip().endswith(("?", "？")) or _ASK_FORM_EN.search(clause.strip()) and
                hit.start() - lead <= ASK_FORM_CHARS):
            return False
    else:
        part = next(m.group(0) for m in _COMMA_PART.finditer(clause) if m.end() >= hit.end())
        if not (re.search(r"[？?]", part) or _ASK_FORM_ZH.search(part)):
            return False
        if kind in ("id", "card") and not _ASK_NUMBER_VERB.search(part):
            return False
    if _ASK_OWNED.search(before):
        return False
    if word in _ASK_REACH:
        return _ASK_REACH_WH.search(clause) is not None
    if kind == "email" and english and "address" not in word and not _ASK_YOURS.search(before):
        return False
    if not english:
        if kind == "email" and re.search(r"(?:哪个|什么)\s*$", before):
            return True  # 发到哪个邮箱比较好
        tail = after.lstrip()
        return not tail or not re.match(r"[\u3400-\u9fffA-Za-z0-9]", tail) or \
            _ASK_TAIL_ZH.match(tail) is not None
    nxt = re.match(r"\s*([A-Za-z']+|\d)", after)
    if word in _ASK_WEAK:
        return nxt is not None and nxt.group(1).lower() in ("number", "numbers", "no", "humber")
    if word == "card" and not _ASK_CARD_BEFORE.search(before):
        return False
    if kind == "generic":
        if not _ASK_NUMBER_BEFORE.search(before):
            return False  # 'leave you a written number': a price, not a phone number
        return nxt is None or nxt.group(1).lower() not in (*_COMPOUND_HEADS, "of")  # 'a number abroad'
    if nxt is None or nxt.group(1).isdigit() or nxt.group(1).lower() in _ASK_TAILS_EN or \
            nxt.group(1).lower() in _EN_DIGITS or word in _ASK_PHRASES:
        return True
    prev = re.search(r"([A-Za-z']+)\s*$", before)
    return prev is not None and prev.group(1).lower() in ("your", "best", "good") and \
        nxt.group(1).lower() not in _COMPOUND_HEADS


def _asked(question: str) -> str | None:
    """The kind of number the rep's turn asks the customer for (phone, id, card, email), or None."""
    question = _PLACEHOLDER.sub(" ", question)
    for clause in _last_sentences(question):
        if _ASK_NOT.search(clause):
            continue
        hits = [h for h in _ASK_RE.finditer(clause) if _asks_in_clause(clause, h)]
        named = _named(clause, question=True)
        where = _ASK_SEND_WHERE.search(clause)
        # (what is sent may be a look-alike's name: 'send the confirmation', 'the invoice')
        if not hits and where and (not where.group(0).isascii() or _ASK_SEND.search(clause)) and \
                (clause.rstrip().endswith(("?", "？")) or _ASK_FORM_EN.search(clause.strip()) or
                 re.search(r"[\u3400-\u9fff]", clause)):
            return named if named in KINDS else "email"  # 'Where should we send the report?'
        if not hits:
            continue
        kind = _ASK_KIND[re.sub(r"\s+", " ", hits[-1].group(0).lower())]
        if named == "neg":
            continue
        if kind == "email":
            return "email"
        return named if named in KINDS else kind if kind in KINDS else "phone"
    return None


def _names_kind(question: str) -> str | None:
    """The personal kind a question names without asking for the number by an ask word ('How would you
    like to pay?': card), or None."""
    question = _PLACEHOLDER.sub(" ", question)
    for clause in _last_sentences(question):
        asks = clause.rstrip().endswith(("?", "？")) or _ASK_FORM_EN.search(clause.strip()) or \
            re.search(r"[\u3400-\u9fff]", clause) and _ASK_FORM_ZH.search(clause)
        named = _named(clause, question=True) if asks and not _ASK_NOT.search(clause) else None
        if named in KINDS:
            return named
    return None


# a reply this short (3 English words, 3 Chinese characters) is what ASR left of the number ('It's a' for
# 'It's a Mastercard. Five two one two …', 用。 for an address)
REPLY_SHORT_WORDS = 3
REPLY_SHORT_CHARS = 3
REPLY_DIGITS = 2  # the fewest digits (or digit soundalikes) in a garbled reply without a word for a number
REPLY_ALIKE_SHARE = 0.4  # soundalikes alone: at least this share of the words, or after an intro ('it's')


def _garbled_number(piece: str, introduced: bool) -> bool:
    """What is left of a number in a reply however ASR garbled it: a word for a number (number, 号码), or
    REPLY_DIGITS digits and soundalikes (spoken_digits.yaml, not the cue ones) with a digit said as one
    among them; soundalikes alone only after an intro ('My homeroom is big time mirror') or as many of the
    words ('I made it in time for the demo, even the team came.' is words)."""
    if _REPLY_NUMBER.search(piece):
        return True
    atoms = [a for a in _atoms(piece, loose=True) if isinstance(a, _Atom) and not a.loose]
    if sum(max(1, len(a.digits)) for a in atoms) < REPLY_DIGITS:
        return False
    if any(not a.soundalike for a in atoms):
        return True
    words = max(1, sum(_lengths(piece)))
    return introduced or len(atoms) / words >= REPLY_ALIKE_SHARE


def _only_goes_on(text: str) -> bool:
    """The turn says only 'go on' or waits (嗯, Sure, 稍等, 'Hold on, let me pull it up')."""
    text = _PLACEHOLDER.sub(" ", text)
    if _GO_ON.fullmatch(text) or not text.strip():
        return True
    words, cjk = _lengths(text)
    return _WAIT.search(text) is not None and words <= WAIT_WORDS and cjk <= 10 and not re.search(r"\d", text)


# what opens a reply before what it gives: 'Sure, it's', 'My cell is', 'The card number is', 卡号是
_REPLY_INTRO_EN = re.compile(r"(?:it's|it\s+is|that's|that\s+is|(?:(?:my|our|the|his|her|its)\s+)"
                             r"(?:[A-Za-z'-]+\s+){0,3}?(?:is|are|'s)\b|[A-Za-z'-]+(?:\s+[A-Za-z'-]+)?\s+is\b)"
                             r"[\s,:]*", re.IGNORECASE)
_REPLY_INTRO_ZH = re.compile(r"[^，。,.！!？?]{0,8}?(?:是|为|：|:)")


def _reply_body(text: str) -> tuple[int, int, bool] | None:
    """The part of a reply turn that gives the number: after its lead-ins and an intro ('Sure, it's',
    'My cell is', 卡号是), without the end's punctuation, and whether an intro went before; None when
    nothing is left."""
    start = 0
    lead = _GO_ON.match(text)
    if lead is not None:
        start = lead.end()
    rest = text[start:]
    introduced = re.search(r"\b(?:it's|it\s+is|that's)\s*$", text[:start].rstrip(" ,，"),
                           re.IGNORECASE) is not None
    intro = _REPLY_INTRO_EN.match(rest)
    if intro is not None and not intro.group(0).lower().startswith(("it", "that", "my", "our", "the", "his",
                                                                     "her", "its")) and \
            not _CONTEXT_RE.search(intro.group(0)):
        intro = None  # 'Green is …': only an intro that names the number or points at it
    if intro is None:
        zh = _REPLY_INTRO_ZH.match(rest)
        if zh is not None and (_CONTEXT_RE.search(zh.group(0)) or _EMAIL_CONTEXT.search(zh.group(0))):
            intro = zh
    if intro is not None and intro.end() < len(rest.rstrip(" .。!！,，…")):
        start += intro.end()
        introduced = True
        lead = _GO_ON.match(text, start)
        start = lead.end() if lead is not None and lead.end() < len(text) else start
    end = len(text)
    while end > start and text[end - 1] in " \t.。!！,，…-、":
        end -= 1
    return (start, end, introduced) if end > start else None


class _Finder:
    """The personal numbers of one transcript: runs of digits, what they are, and the joins of runs that
    belong to one number (over turns, over words ASR put between, after a correction)."""

    def __init__(self, transcript: Transcript) -> None:
        self.turns = transcript.turns
        self.language = transcript.language
        self.found: list[Found] = []
        self.runs: list[list[_Run]] = []
        self.taken: set[tuple[int, int]] = set()  # (turn, start) of the runs found so far
        self.contexts: dict[tuple[int, int, int], tuple[str | None, bool]] = {}
        for i, turn in enumerate(self.turns):
            before = tuple(self.turns[j].text for j in range(max(0, i - EARLIER_TURNS), i))
            emails = _emails(turn.text, before)
            self.found += [Found(i, s, e, "email", value) for s, e, value in emails]
            self.runs.append([r for r in _runs(i, turn.text)
                              if all(r.end <= s or r.start >= e for s, e, _ in emails)])

    def lang(self, run: _Run) -> str:
        return self.turns[run.turn].language or self.language

    def earlier(self, i: int) -> list[str]:
        """The turns before turn i that may say what its number is, nearest first: the other speaker's
        turn before (the question), over their back-channels ('嗯', 'Got it') and the words that only wait
        ('Sure, take your time': no context word, no question), and over the speaker's own turns that
        neither name nor give a number ('Hold on, let me pull it up'); the end of the speaker's own turn
        before when it ends in digits (a split)."""
        out: list[str] = []
        turn = self.turns[i]
        for j in range(i - 1, max(-1, i - 1 - EARLIER_TURNS), -1):
            other = self.turns[j]
            if turn.start - other.end > 30.0:
                break
            quiet = _back_channel(other.text) or (
                _CONTEXT_RE.search(other.text) is None and not _QUESTION.search(other.text))
            if other.speaker == turn.speaker:
                runs = self.runs[j]
                if runs and _END_PUNCT.fullmatch(other.text[runs[-1].end:]):
                    out.append(other.text[-_CONTEXT_CHARS:])
                    break
                # ASR cut the turn after its context word ('My cell is' | '415 …', 'Quote case' | 'number …')
                if not runs and _CONTEXT_RE.search(other.text[-_CONTEXT_CHARS:]):
                    out.append(other.text[-_CONTEXT_CHARS:])
                    break
                if not quiet or any(len(r.digits) >= 3 for r in runs):  # not 一下, 一点
                    break
                continue
            out.append(other.text)
            if not quiet:
                break
        return out

    def context_of(self, run: _Run) -> tuple[str | None, bool]:
        key = (run.turn, run.start, run.end)
        if key not in self.contexts:
            self.contexts[key] = self._context_of(run)
        return self.contexts[key]

    def _context_of(self, run: _Run) -> tuple[str | None, bool]:
        """(the kind its context names, whether a unit or currency goes with it) of a run."""
        text = self.turns[run.turn].text
        earlier = self.earlier(run.turn)
        before = text[:run.start]
        # the run before this one in the turn cuts the context: 'card 6222… phone 138…'
        prev_runs = [r for r in self.runs[run.turn] if r.end <= run.start and len(r.digits) >= 7]
        if prev_runs:
            before, earlier = text[prev_runs[-1].end:run.start], []
        kind = _context_kind(before, earlier)
        unit = bool(_UNIT_AFTER.match(text[run.end:])) or bool(_UNIT_BEFORE.search(before))
        # ASR writes a phone number with a digit dropped in thousands' commas (415,555,267): an amount's
        # shape counts as one only where no phone was asked for
        amount = _AMOUNT.fullmatch(text[run.start:run.end]) is not None and kind != "phone"
        return kind, unit or amount

    def add(self, runs: list[_Run], kind: str, value: str) -> None:
        self.found.extend(Found(r.turn, r.start, r.end, kind, value) for r in runs)
        self.taken.update((r.turn, r.start) for r in runs)

    def classify_run(self, run: _Run, context: str | None, unit: bool) -> tuple[_Run, str, str] | None:
        """(the run or its core, kind, value): the core (without soundalikes on the edges) when it is a
        number by its own checks, else the whole run as classify says, else the core as classify says."""
        core = run.core
        if run.quantities and not _resident_id(run.digits, run.x_end):
            return None
        if core is not None and _strong(core.digits, core.x_end, self.lang(run)):
            got = classify(core.digits, core.x_end, context, unit, self.lang(run))
            if got is not None:
                return core, *got
        got = classify(run.digits, run.x_end, context, unit, self.lang(run))
        if got is not None:
            return run, *got
        if core is not None:
            got = classify(core.digits, core.x_end, context, unit, self.lang(run))
            if got is not None:
                return core, *got
        return None

    # a number split across turns of one speaker: the tail of one turn and the head of the next

    def head_after(self, tail: _Run) -> _Run | None:
        """The run that opens the speaker's next turn and may go on from `tail` (which ends its turn):
        only the other speaker's back-channels between, a lead-in before it (然后是, the rest is)."""
        if _END_PUNCT.fullmatch(self.turns[tail.turn].text[tail.end:]) is None \
                or tail is not self.runs[tail.turn][-1]:
            return None
        j = self.next_own_turn(tail.turn)
        if j is None or not self.runs[j]:
            return None
        head = self.runs[j][0]
        lead = _LEAD_IN.match(self.turns[j].text)
        return head if lead is not None and lead.end() >= head.start else None

    def next_own_turn(self, i: int) -> int | None:
        """The speaker's next turn after turn i, within reach (SPLIT_GAP_S, three turns on) with only the
        other speaker's back-channels or asks to repeat between; None when something else comes first."""
        turn = self.turns[i]
        for j in range(i + 1, min(len(self.turns), i + 4)):
            nxt = self.turns[j]
            if nxt.start - turn.end > SPLIT_GAP_S:
                return None
            if nxt.speaker == turn.speaker:
                return j
            if not _back_channel(nxt.text) and not _REPEAT_ASK.search(nxt.text):
                return None
        return None

    def join(self, parts: list[_Run]) -> tuple[str, str] | None:
        """(kind, value) of the parts said as one number, or None: the whole must be one, and a part
        that is a whole number by its own checks stays on its own unless the whole passes them too."""
        digits = "".join(p.digits for p in parts)
        context, _ = self.context_of(parts[0])
        last = parts[-1]
        unit = bool(_UNIT_AFTER.match(self.turns[last.turn].text[last.end:]))
        language = self.lang(parts[0])
        if unit or context == "neg":
            return None
        # read out in pieces with the listener's 'go on' between: a number given, not a look-alike, when
        # long enough, whatever the words around say
        # (not round quantities said one after the other: 'About 15000' 'Mm-hmm.' '20000 next year')
        if context is None and len(digits) >= SPLIT_DIGITS and \
                not any(p.digits.endswith("00") for p in parts):
            context = "card" if len(digits) >= 13 else "phone"
        whole = classify(digits, last.x_end, context, False, language)
        if whole is None:
            return None
        if _strong(digits, last.x_end, language, context):
            return whole
        if any(_strong(p.digits, p.x_end, language, context) for p in parts):
            return None
        return whole

    def join_turns(self) -> None:
        for i in range(len(self.turns)):
            if not self.runs[i] or (i, self.runs[i][-1].start) in self.taken:
                continue
            parts = [self.runs[i][-1]]
            # up to five parts: a card of 19 digits read four at a time
            while len(parts) < 5 and (head := self.head_after(parts[-1])) is not None:
                parts.append(head)
            for k in range(len(parts), 1, -1):  # the longest that is one number
                got = self.join(parts[:k])
                if got is not None:
                    self.add(parts[:k], *got)
                    break

    # runs in one turn

    def close_runs(self, a: _Run, b: _Run) -> bool:
        """b follows a closely enough in their turn to be more of one number: a few words between (at most
        four Chinese characters: '，然后是'), no sentence end, nothing of a date or a time (15th, 10:30)."""
        between = self.turns[a.turn].text[a.end:b.start]
        # ASR's full stop between the groups it heard (一三八。一二三四。), '…, and the last four are …'
        if _PUNCT_ONLY.fullmatch(between) or _continues(between):
            return True
        return len(between) <= 12 and len(re.findall(r"[\u3400-\u9fff]", between)) <= 4 and \
            not _SENTENCE_END.search(between) and not _DATE_GAP.search(between)

    def join_close(self, runs: list[_Run]) -> None:
        """Runs a few words apart in a personal context that are one number by its own checks together
        ('area code 312, then 569 5793', '1779298，然后是4162'): the longest such stretch, where no piece is
        an amount."""
        free = [r for r in runs if (r.turn, r.start) not in self.taken]
        k = 0
        while k < len(free) - 1:
            best = None
            for j in range(k + 1, len(free)):
                if not self.close_runs(free[j - 1], free[j]):
                    break
                parts = free[k:j + 1]
                digits = "".join(p.digits for p in parts)
                if _strong(digits, parts[-1].x_end, self.lang(parts[0])):
                    best = parts
            if best is not None:
                context, _ = self.context_of(best[0])
                units = any(self.context_of(p)[1] for p in best)
                got = None if context not in KINDS or units else classify(
                    "".join(p.digits for p in best), best[-1].x_end, context, False, self.lang(best[0]))
                if got is not None and not any(_strong(p.digits, p.x_end, self.lang(p), context)
                                               for p in best):
                    self.add(best, *got)
                    k += len(best)
                    continue
            k += 1

    def turn_runs(self, runs: list[_Run]) -> None:
        self.join_close(runs)
        chain: list[_Run] = []  # runs not personal on their own, one after the other
        for run in runs:
            if (run.turn, run.start) in self.taken:
                self.chain(chain)
                continue
            if chain and not self.close_runs(chain[-1], run):
                self.chain(chain)
            context, unit = self.context_of(run)
            got = self.classify_run(run, context, unit)
            if got is not None:
                self.add([got[0]], got[1], got[2])
                self.chain(chain)
                continue
            chain.append(run)
        self.chain(chain)

    def chain(self, chain: list[_Run]) -> None:
        """Short runs close together in a personal context are one number ASR broke up with words
        ('my cell is 415, I made 4, 4, 5, 8'): redacted together when they add up to one. Empties chain."""
        if len(chain) >= 2:
            context, unit = self.context_of(chain[0])
            # a piece that is an amount or a quantity ('4,500 tickets', '2025 renewal, 48000'): no number
            if context in ("phone", "card", "id") and not any(_round(r.digits) for r in chain) and \
                    not any(self.context_of(r)[1] for r in chain[1:]):
                got = classify("".join(r.digits for r in chain), chain[-1].x_end, context, unit,
                               language=self.lang(chain[0]))
                if got is not None:
                    self.add(chain, *got)
        chain.clear()

    def corrections(self) -> None:
        """'一三八…，不对，是一三九…', 'sorry, I mean …': digits after a personal number and a correction,
        in its turn or the speaker's next, are that number again; after 'and the last four are' (only that
        between), the rest of it."""
        for i, runs in enumerate(self.runs):
            for run in runs:
                if (i, run.start) in self.taken or len(run.digits) < 3:
                    continue
                said = self.said_before(run)
                if said is None:
                    continue
                kind, between = said
                context, unit = self.context_of(run)
                if (_CORRECTION.search(between) or _continues(between)) and context != "neg" and not unit:
                    self.add([run], kind, run.digits)

    def said_before(self, run: _Run) -> tuple[str, str] | None:
        """(kind, the text between) of the personal number the speaker said last before run, in its turn
        or the speaker's turn before (over back-channels), else None."""
        text = self.turns[run.turn].text
        mine = [f for f in self.found if f.turn == run.turn and f.end <= run.start and f.kind != "email"]
        if mine:
            return mine[-1].kind, text[mine[-1].end:run.start]
        for j in range(run.turn - 1, max(-1, run.turn - 4), -1):
            other = self.turns[j]
            if other.speaker != self.turns[run.turn].speaker:
                if _back_channel(other.text):
                    continue
                return None
            theirs = [f for f in self.found if f.turn == j and f.kind != "email"]
            if theirs and _END_PUNCT.fullmatch(other.text[theirs[-1].end:]):
                return theirs[-1].kind, text[:run.start]
            return None
        return None


    # cue stretches: what is left of a number a personal word asked for, however garbled

    def stretch_after(self, tail: _Stretch, stretches: list[list[_Stretch]]) -> _Stretch | None:
        """The stretch that opens the speaker's next turn (ASR's next segment) and may go on from `tail`,
        which ends its turn: only the other speaker's back-channels between, a lead-in before it; at the
        break a hesitation or one garbled word ('415 555 uh' | '2671', '415 555' | 'Neelur 2671')."""
        if not _at_break(self.turns[tail.turn].text[tail.end:]) or tail is not stretches[tail.turn][-1]:
            return None
        j = self.next_own_turn(tail.turn)
        if j is None or not stretches[j]:
            return None
        head = stretches[j][0]
        return head if _at_break(self.turns[j].text[:head.start]) else None

    def cue_stretches(self) -> None:
        """A stretch (over the speaker's next segments) of at least CUE_DIGITS digits and soundalikes, one
        of them said as a digit, where a personal word asked for a number (in the turn or the question):
        redacted where nothing found covers it yet, unless a unit, an amount or round numbers go with it."""
        stretches = [_cue_stretches(i, turn.text) for i, turn in enumerate(self.turns)]
        used: set[tuple[int, int]] = set()
        for items in stretches:
            for stretch in items:
                if (stretch.turn, stretch.start) in used:
                    continue
                parts = [stretch]
                while len(parts) < 5 and (nxt := self.stretch_after(parts[-1], stretches)) is not None:
                    parts.append(nxt)
                used.update((p.turn, p.start) for p in parts)
                self.take_stretch(parts)

    def take_stretch(self, parts: list[_Stretch]) -> None:
        """Redact the stretch (its parts over segments) where the checks let it be one number."""
        first, last = parts[0], parts[-1]
        digits = "".join(p.digits for p in parts)
        real = sum(p.real for p in parts)
        # short and heard whole: a short number (a hotline, an extension), not a garbled long one
        if len(digits) < CUE_DIGITS or not real or len(digits) < 7 and not any(p.garbled for p in parts) or \
                _business_number(digits, self.lang(first)):
            return
        context, unit = self.context_of(_Run(first.turn, first.start, first.end, first.digits))
        text, earlier = self.turns[first.turn].text, self.earlier(first.turn)
        before = text[:first.start][-_CONTEXT_CHARS:]
        if context is None and not any(_named(t, question=True) == "neg" for t in earlier):
            # a cue a sentence back in the turn, no number since ('my cell, as I'm hardly in, it's …')
            since = max((r.end for r in self.runs[first.turn] if r.end <= first.start and len(r.digits) >= 3),
                        default=0)
            if _named(text[since:first.start]) in KINDS:
                before = text[since:first.start]
                context = _named(before)
        # a placeholder names no cue: redacting the stored text again changes nothing (the backfill)
        cued = any(_CUE_RE.search(_PLACEHOLDER.sub(" ", t)) for t in (before, *earlier))
        after = self.turns[last.turn].text[last.end:]
        if context not in KINDS or not cued or unit or _APPROX.search(before) or _UNIT_AFTER.match(after) or \
                _PLURAL_AFTER.match(after):
            return
        said = [self.turns[p.turn].text[p.start:p.end] for p in parts]
        groups = [g for piece in said for g in re.findall(r"\d{3,}", piece)]
        # amounts, round numbers: quantities ('about 1500 to 2000', 10000)
        if any(_round_groups(piece) or _AMOUNT.search(piece) for piece in said) or \
                len(digits) < 7 and (_round(digits) or any(_round(g) for g in groups)):
            return
        for p in parts:
            # one placeholder over the part and the numbers found in it (a chain's pieces); their kind and
            # checked value where there are any (the value's hash serves erasure requests)
            inside = [f for f in self.found if f.turn == p.turn and f.start < p.end and f.end > p.start]
            if any(f.kind == "email" for f in inside):
                continue
            value = max(inside, key=lambda f: len(f.value)) if inside else None
            self.found = [f for f in self.found if f not in inside]
            self.found.append(Found(p.turn, min([p.start, *(f.start for f in inside)]),
                                    max([p.end, *(f.end for f in inside)]), value.kind if value else context,
                                    value.value if value else digits))

    # rules 8: a number read out digit by digit, however garbled, is a personal one

    def read_outs(self) -> None:
        """A stretch (over the speaker's next segments) read out digit by digit ('4-3-6-7, 4-2-0-1, 1-3-4
        time', '4, 4, 0, 1, 0, 5'): READOUT_SINGLES lone digits or more, most of its pieces, READOUT_DIGITS
        digits or more with the soundalikes. People read a phone, card or ID number so; a price, a date or a
        quantity they say whole. Redacted where nothing found covers it yet, unless its context names a
        look-alike (a tracking or order number: read the same way), or a unit, an amount, a guess or round
        numbers go with it. Its kind: the one the context names, else its shape's."""
        stretches = [_cue_stretches(i, turn.text) for i, turn in enumerate(self.turns)]
        used: set[tuple[int, int]] = set()
        for items in stretches:
            for stretch in items:
                if (stretch.turn, stretch.start) in used:
                    continue
                parts = [stretch]
                while len(parts) < 5 and (nxt := self.stretch_after(parts[-1], stretches)) is not None:
                    parts.append(nxt)
                used.update((p.turn, p.start) for p in parts)
                self.take_read_out(parts)

    def take_read_out(self, parts: list[_Stretch]) -> None:
        # English only: Mandarin reads every number digit by digit (一三八, a 税号 too), telling nothing
        if self.lang(parts[0]) != "en":
            return
        digits = "".join(p.digits for p in parts)
        singles = sum(p.singles for p in parts)
        pieces = sum(p.singles + p.alikes for p in parts)
        # (a piece of several digits is a group: 'area code 415', a year said whole)
        groups = sum(len(re.findall(r"\d{2,}", self.turns[p.turn].text[p.start:p.end])) for p in parts)
        if singles < READOUT_SINGLES or len(digits) < READOUT_DIGITS or pieces < READOUT_SHARE * (
                pieces + groups) or _business_number(digits, self.lang(parts[0])):
            return
        if any(f.turn == p.turn and f.start < p.end and f.end > p.start for p in parts for f in self.found):
            return  # found already (a cue stretch, a checked run): nothing to add
        first, last = parts[0], parts[-1]
        context, unit = self.context_of(_Run(first.turn, first.start, first.end, first.digits))
        text, earlier = self.turns[first.turn].text, self.earlier(first.turn)
        before = text[:first.start]
        # a look-alike named anywhere before it in the turn, or by the question ('Which invoice …?')
        if context == "neg" or _named(before) == "neg" or \
                any(_named(t, question=True) == "neg" for t in earlier):
            return
        after = self.turns[last.turn].text[last.end:]
        said = [self.turns[p.turn].text[p.start:p.end] for p in parts]
        if unit or _APPROX.search(before[-_CONTEXT_CHARS:]) or _UNIT_AFTER.match(after) or \
                _PLURAL_AFTER.match(after) or any(_round_groups(t) or _AMOUNT.search(t) for t in said):
            return
        if _counting(digits) or _scores(" ".join(said)):
            return
        x_end = re.match(r"[\s,-]*[Xx](?![A-Za-z])", after)  # the ID's check character: '2-2-9-X'
        if context not in KINDS:
            context = "id" if x_end or _id_like(digits, False) else "card" if len(digits) >= 13 else "phone"
        for p in parts:
            end = p.end + (x_end.end() if x_end and p is last else 0)
            self.found.append(Found(p.turn, p.start, end, context, digits + ("X" if x_end else "")))

    # rules 7: the answer to a question for a personal number, however garbled

    def reply_of(self, q: int) -> list[int]:
        """The customer's turns that answer the rep's turn q: up to the rep's next turn that is more than a
        back-channel, an ask to repeat or a wait (REPLY_TURNS at most, within REPLY_GAP_S)."""
        rep = self.turns[q]
        out: list[int] = []
        for j in range(q + 1, len(self.turns)):
            turn = self.turns[j]
            if turn.start - rep.end > REPLY_GAP_S:
                break
            if turn.speaker == rep.speaker:
                if _back_channel(turn.text) or _REPEAT_ASK.search(turn.text) or _only_goes_on(turn.text):
                    continue
                break
            out.append(j)
            if len(out) >= REPLY_TURNS:
                break
        return out

    def asked_replies(self) -> None:
        """Where the rep asked for a personal number or address and nothing was found in the reply, the
        reply's turns (what they give, after a lead-in) are redacted as the kind asked: unless the reply
        declines or defers, only says 'go on' or waits, or says a quantity, an amount, a look-alike's name
        or a hotline; a question back ('Which one?') is no part of it."""
        for q, question in enumerate(self.turns):
            if question.role != "rep" or q + 1 >= len(self.turns):
                continue
            kind = _asked(question.text)
            named = _names_kind(question.text) if kind is None else None
            if kind is None and named is None:
                continue
            reply = [j for j in self.reply_of(q) if self.turns[j].role != "rep"]
            if not reply or any(f.turn in reply for f in self.found):
                continue
            texts = [self.turns[j].text for j in reply]
            said = " ".join(texts)
            if _PLACEHOLDER.search(said) or _DECLINE.search(said) or _DECLINE_FIRST.search(said) or \
                    self.says_other(reply):
                continue
            if kind is None:  # 'How would you like to pay?' 'Visa, the number is …': the reply names one
                first = next((t for t in texts if not _only_goes_on(t)), "")
                number = _REPLY_NUMBER.search(first)
                if number is None or number.start() > REPLY_NUMBER_CHARS:  # in its intro ('Visa, the number')
                    continue
                kind = _context_kind(first[:number.end()], [question.text])
                kind = kind if kind in KINDS else named
            for j, text in zip(reply, texts, strict=True):
                if _only_goes_on(text) or _asks_back(text):
                    continue
                body = _reply_body(text)
                if body is None:
                    continue
                piece = text[body[0]:body[1]]
                words, cjk = _lengths(piece)
                if words > REPLY_MAX_WORDS or cjk > REPLY_MAX_CHARS:
                    continue
                # a number however garbled keeps a digit or two, or the word for it; a time, a date: other
                short = words <= REPLY_SHORT_WORDS and cjk <= REPLY_SHORT_CHARS
                if kind != "email" and (_CUE_STOP.search(piece) or
                                        not short and not _garbled_number(piece, body[2])):
                    continue
                value = _spoken_address(piece) if kind == "email" else \
                    "".join(r.digits for r in _runs(j, piece)) or re.sub(r"\s+", " ", piece.lower())
                self.found.append(Found(j, body[0], body[1], kind, value))

    def says_other(self, reply: list[int]) -> bool:
        """The reply says a quantity or an amount (a run with a unit, thousands' commas, a currency), names
        a look-alike (an order, a ticket) or a place (a street, an office), or gives a hotline: no personal
        number."""
        for j in reply:
            text = self.turns[j].text
            if _PLACE.search(text):
                return True
            for run in self.runs[j]:
                after = text[run.end:]
                if (_UNIT_AFTER.match(after) and not _LETTER_UNIT.match(after)) or \
                        _UNIT_BEFORE.search(text[:run.start]) or \
                        _AMOUNT.fullmatch(text[run.start:run.end]) or \
                        _business_number(run.digits, self.lang(run)):
                    return True
            if any(_CONTEXT_KIND[h.group(0).lower()] == "neg" and
                   (not h.group(0).isascii() or _word_bounded(text, h.start(), h.end()))
                   for h in _CONTEXT_RE.finditer(text)):
                return True
        return False


def find(transcript: Transcript) -> list[Found]:
    """Every personal number and address in the transcript, in turn order."""
    finder = _Finder(transcript)
    finder.join_turns()
    for runs in finder.runs:
        finder.turn_runs(runs)
    finder.corrections()
    finder.cue_stretches()
    finder.read_outs()
    finder.asked_replies()
    finder.found.sort(key=lambda f: (f.turn, f.start))
    return finder.found


def _char_times(turn: Turn) -> list[tuple[float, float]]:
    """A time span for each character of the turn text, from the words (Whisper's words concatenate to
    the text, give or take spaces and punctuation); characters no word covers are interpolated."""
    text = turn.text
    times: list[tuple[float, float] | None] = [None] * len(text)
    cursor = 0
    for word in turn.words:
        piece = word.text.strip()
        if not piece:
            continue
        at = text.find(piece, cursor, cursor + len(piece) + 8)
        if at < 0:
            core = piece.strip("，,。.？?！!、：:；;")
            at = text.find(core, cursor, cursor + len(piece) + 8) if core else -1
            piece = core
        if at < 0:
            continue
        span = word.end - word.start
        for k in range(len(piece)):
            times[at + k] = (word.start + span * k / len(piece), word.start + span * (k + 1) / len(piece))
        cursor = at + len(piece)
    # fill the gaps from the neighbours (or spread over the turn when no word matched)
    known = [k for k, t in enumerate(times) if t is not None]
    if not known:
        length = max(1, len(text))
        return [(turn.start + (turn.end - turn.start) * k / length,
                 turn.start + (turn.end - turn.start) * (k + 1) / length) for k in range(len(text))]
    out: list[tuple[float, float]] = []
    for k, t in enumerate(times):
        if t is None:
            prev = max((p for p in known if p < k), default=None)
            nxt = min((p for p in known if p > k), default=None)
            lo = times[prev][1] if prev is not None else turn.start
            hi = times[nxt][0] if nxt is not None else turn.end
            t = (lo, max(lo, hi))
        out.append(t)
    return out


def _placeholder(kind: str, turn: Turn, language: str) -> str:
    lang = turn.language or language
    return PLACEHOLDERS["en" if lang == "en" else "zh"][kind]


def _redact_words(words: list[Word], spans: list[tuple[float, float, str]]) -> list[Word]:
    """Words with every word inside a redacted time span folded into one placeholder word."""
    out: list[Word] = []
    for word in words:
        mid = (word.start + word.end) / 2
        hit = next((s for s in spans if s[0] - 0.01 <= mid <= s[1] + 0.01), None)
        if hit is None:
            out.append(word)
            continue
        lead = " " if word.text.startswith(" ") else ""
        if out and out[-1].text.strip() == hit[2] and out[-1].end >= hit[0] - 0.01:
            out[-1].end = max(out[-1].end, word.end)
        else:
            out.append(Word(start=word.start, end=word.end, text=lead + hit[2], probability=word.probability))
    return out


def redact_transcript(transcript: Transcript) -> list[Found]:
    """Replace every personal number and address in the transcript (in place) by its placeholder and list
    it on its turn (Turn.redactions). Returns what was found (values in memory only)."""
    found = find(transcript)
    by_turn: dict[int, list[Found]] = {}
    for f in found:
        by_turn.setdefault(f.turn, []).append(f)
    for index, items in by_turn.items():
        turn = transcript.turns[index]
        times = _char_times(turn)
        text = turn.text
        spans: list[tuple[float, float, str]] = []
        redactions: list[Redaction] = []
        for f in sorted(items, key=lambda f: f.start):
            start, end = times[f.start][0], times[f.end - 1][1]
            mark = _placeholder(f.kind, turn, transcript.language)
            spans.append((start, end, mark))
            redactions.append(Redaction(kind=f.kind, start=round(start, 2), end=round(end, 2),
                                        placeholder=mark, value=f.value))
        for f, red in sorted(zip(items, redactions, strict=True), key=lambda p: p[0].start, reverse=True):
            text = text[:f.start] + red.placeholder + text[f.end:]
        turn.text = text
        turn.words = _redact_words(turn.words, spans)
        turn.redactions = [*turn.redactions, *redactions]
    return found


def redact_text(text: str, language: str | None = None) -> str:
    """One piece of text with its personal numbers and addresses replaced (no times): for free text that
    never went through ASR (a title, a comment). language: zh | en, else zh when it holds a CJK character."""
    if language is None:
        language = "zh" if re.search(r"[\u3400-\u9fff]", text) else "en"
    transcript = Transcript(duration=0.0, language=language, layout="mono",
                            turns=[Turn(0.0, 0.0, "S0", "customer", text, language=language)])
    redact_transcript(transcript)
    return transcript.turns[0].text
