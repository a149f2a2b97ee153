"""Pattern text to AST: the tokens and the recursive-descent parser of the grammar.

    pattern : chain EOF
    chain   : item ("->" item)*
    item    : atom ("*" count | "?")*          at most MAX_POSTFIX operators per item
    atom    : layer | "[" chain "]"            at most MAX_NESTING brackets deep
    layer   : WORD [size] ["-" INT] [args]     CONV3-64, POOL2, FC-4096, RELU, CONV(k=3, f=64)
            | "INPUT" ["[" DIMS "]"]           INPUT[224x224x3]
    args    : "(" [arg ("," arg)*] ")"
    arg     : [NAME "="] value
    value   : NUMBER | NAME | DIMS | "(" value ("," value)+ ")"
    count   : INT | NAME

Whitespace is ignored; `->` may also be written `→`. Every malformed text is a located
`ParseError` (or `LimitError`, `SpecError` for an unknown word) naming what was expected;
the limits keep absurd input from hanging or exhausting the stack. See docs/pattern.md.
"""

from __future__ import annotations

import difflib
import re
from cnncalc.records import dataclass

from cnncalc.errors import LimitError, Location, ParseError, SpecError
from cnncalc.limits import MAX_REPEAT
from cnncalc.pattern.positions import Locator
from cnncalc.pattern.tree import Arg, Chain, Group, Layer, Node, Num, Optional, Repeat, Tup, Value, Word
from cnncalc.pattern.vocabulary import COUNT_KEY, CORE_WORDS, INPUT_WORD, LAYER_WORDS, SIZE_KEY


#: How deep brackets may nest, and how many `*`/`?` one item may carry (documented in docs/pattern.md).
MAX_NESTING = 32
MAX_POSTFIX = 4
#: Digits in one number: anything longer is certainly a mistake, and int() of huge strings is slow.
MAX_DIGITS = 30


# ---------------------------------------------------------------------------------------------
# tokens


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    text: str
    start: int
    end: int


_TOKEN = re.compile(
    r"""(?P<ws>\s+)
      |(?P<arrow>->|→)
      |(?P<dims>\d+(?:[xX]\d+)+)
      |(?P<number>\d+\.\d+|\.\d+|\d+)
      |(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:-\d+)?)
      |(?P<punct>[\[\]()*?,=])""",
    re.VERBOSE,
)

_CHARACTER_HINTS = {
    "-": "arrows are written '->'",
    ">": "arrows are written '->'",
    "{": "group layers with '[' and ']'",
    "}": "group layers with '[' and ']'",
    "x": "sizes are written like INPUT[224x224x3] or CONV(k=3x3)",
    ";": "separate layers with '->'",
    "|": "separate layers with '->'",
}


def _describe(token: Token) -> str:
    if token.kind == "eof":
        return "the end of the pattern"
    return f"'{token.text}'"


class _Parser:
    def __init__(self, text: str, locator: Locator):
        self.text = text
        self.locator = locator
        self.tokens = self._tokenize()
        self.pos = 0

    # errors -----------------------------------------------------------------------------------

    def loc(self, start: int, end: int | None = None) -> Location:
        return self.locator.at(start, (end if end is not None else start + 1) - start)

    def fail(self, message: str, token: Token, hint: str = "", code: str = "CNN111") -> ParseError:
        return ParseError(message, self.loc(token.start, max(token.end, token.start + 1)), hint=hint, code=code)

    def where(self, offset: int) -> str:
        here = self.locator.at(offset)
        first = self.locator.at(0)
        return f"column {here.col}" if here.line == first.line else f"line {here.line}, column {here.col}"

    # tokens -----------------------------------------------------------------------------------

    def _tokenize(self) -> list[Token]:
        tokens, pos, text = [], 0, self.text
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if match is None:
                char = text[pos]
                raise ParseError(f"unexpected character {char!r} in the pattern", self.loc(pos),
                                 hint=_CHARACTER_HINTS.get(char, "a pattern holds layer words, '->', '[', ']', "
                                                            "'*', '?' and (arguments)"), code="CNN110")
            kind = match.lastgroup
            if kind != "ws":
                value = match.group()
                # punctuation is its own kind, so the rules can say `kind == "["`
                tokens.append(Token(value if kind == "punct" else kind, value, pos, match.end()))
            pos = match.end()
        tokens.append(Token("eof", "", len(text), len(text)))
        return tokens

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.pos + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.peek()
        self.pos += 1
        return token

    def integer(self, token: Token) -> int:
        # too large, like a value over a limit: an invalid model (exit 1), not unreadable text
        if len(token.text) > MAX_DIGITS:
            raise LimitError(f"the number {token.text[:12]}... has {len(token.text)} digits", self.loc(token.start,
                             token.end), hint="use a realistic value", code="CNN115")
        return int(token.text)

    # rules ------------------------------------------------------------------------------------

    def pattern(self) -> Chain:
        if self.peek().kind == "eof":
            raise self.fail("the pattern is empty", self.peek(), hint="write layers such as 'INPUT -> CONV3-16 -> RELU "
                            "-> FC-10'", code="CNN111")
        return self.chain(0, None)

    def chain(self, depth: int, opener: Token | None) -> Chain:
        start = self.peek().start
        items = [self.item(depth)]
        while True:
            token = self.peek()
            if token.kind == "arrow":
                self.advance()
                items.append(self.item(depth))
                continue
            if token.kind == "]":
                if opener is None:
                    raise self.fail("unmatched ']': no '[' is open here", token,
                                    hint="remove this ']', or add the '[' it should close", code="CNN112")
                return Chain(tuple(items), (start, token.start))
            if token.kind == "eof":
                if opener is not None:
                    raise self.fail(f"expected ']' to close '[' opened at {self.where(opener.start)}", token,
                                    hint="add the missing ']' (and '*N' if the group repeats)", code="CNN112")
                return Chain(tuple(items), (start, token.start))
            expected = "'->' or ']'" if opener is not None else "'->'"
            hint = "put '->' between two layers"
            if token.kind in ("*", "?"):
                hint = "'*' and '?' follow a layer or a ']' directly"
            raise self.fail(f"expected {expected}, found {_describe(token)}", token, hint=hint)

    def item(self, depth: int) -> Node:
        node = self.atom(depth)
        postfixes = 0
        while self.peek().kind in ("*", "?"):
            operator = self.advance()
            postfixes += 1
            if postfixes > MAX_POSTFIX:
                raise LimitError(f"more than {MAX_POSTFIX} '*'/'?' operators on one item", self.loc(operator.start),
                                 hint="group the item with '[' ']' instead", code="CNN121")
            if operator.kind == "?":
                if isinstance(node, Optional):
                    raise self.fail("'?' is given twice", operator, hint="one '?' makes an item optional",
                                    code="CNN111")
                node = Optional(node, (operator.start, operator.end))
            else:
                node = self.repeat(node, operator)
        return node

    def repeat(self, body: Node, star: Token) -> Repeat:
        token = self.advance()
        if token.kind == "number" and token.text.isdigit():
            # one message and one status (exit 1) however many digits the count has
            long = len(token.text) > MAX_DIGITS
            times = MAX_REPEAT + 1 if long else int(token.text)
            if times > MAX_REPEAT:
                shown = f"{token.text[:12]}... ({len(token.text)} digits)" if long else f"{times:,}"
                raise LimitError(f"the repeat count {shown} is larger than the limit of {MAX_REPEAT:,}",
                                 self.loc(token.start, token.end), hint="use a smaller count", code="CNN115")
            return Repeat(body, times, (token.start, token.end))
        if token.kind == "name" and "-" not in token.text:
            if token.text.upper() in LAYER_WORDS or token.text.upper() == INPUT_WORD:
                raise self.fail(f"'{token.text}' is a layer, not a repeat count", token,
                                hint="write '[A -> B]*N' to repeat a group; '->' joins layers", code="CNN111")
            return Repeat(body, token.text, (token.start, token.end))
        if token.kind == "number":
            raise self.fail(f"a repeat count is a whole number, not {token.text}", token, code="CNN115")
        raise self.fail(f"expected a repeat count after '*', found {_describe(token)}", token,
                        hint="write a whole number or a variable, e.g. '*3' or '*N'")

    def atom(self, depth: int) -> Node:
        token = self.peek()
        if token.kind == "[":
            if depth >= MAX_NESTING:
                raise LimitError(f"the pattern nests brackets more than {MAX_NESTING} deep", self.loc(token.start),
                                 hint="flatten the pattern; real networks need a few levels", code="CNN121")
            self.advance()
            if self.peek().kind == "]":
                raise self.fail("empty brackets: a group needs at least one layer", self.peek(), code="CNN111")
            body = self.chain(depth + 1, token)
            close = self.advance()
            return Group(body, (token.start, close.end))
        if token.kind == "name":
            return self.layer()
        if token.kind == "eof":
            raise self.fail("expected a layer, found the end of the pattern", token,
                            hint="remove the trailing '->', or add the last layer", code="CNN111")
        if token.kind == "arrow":
            raise self.fail("expected a layer before '->'", token, hint="there is an extra '->' here")
        if token.kind == "]":
            raise self.fail("expected a layer, found ']'", token, hint="remove the '->' before ']'")
        raise self.fail(f"expected a layer or '[', found {_describe(token)}", token,
                        hint="a layer is a word such as CONV3-64, POOL2, RELU or FC-10")

    def layer(self) -> Layer:
        token = self.advance()
        word, size, count, spans = self.split_word(token)
        dims, dims_span = None, (0, 0)
        if word == INPUT_WORD and self.peek().kind == "[" and self.peek(1).kind in ("dims", "number"):
            self.advance()
            size_token = self.advance()
            dims = tuple(self.integer(Token("number", part, size_token.start, size_token.end))
                         for part in size_token.text.lower().split("x"))
            dims_span = (size_token.start, size_token.end)
            close = self.advance()
            if close.kind != "]":
                raise self.fail(f"expected ']' after the input size, found {_describe(close)}", close, code="CNN112")
        args = self.args(word) if self.peek().kind == "(" else None
        end = self.tokens[self.pos - 1].end
        return Layer(word, size, count, args, dims, (token.start, end), spans[0], spans[1], dims_span)

    def split_word(self, token: Token) -> tuple[str, int | None, int | None, tuple]:
        base, dash, count_text = token.text.partition("-")
        count_span = (token.start + len(base) + 1, token.end) if dash else (0, 0)
        word, size, size_span = base.upper(), None, (0, 0)
        if word not in LAYER_WORDS and word != INPUT_WORD:
            match = re.fullmatch(r"(.*?[A-Za-z_])(\d+)", base)
            if match and match[1].upper() in LAYER_WORDS:
                word = match[1].upper()
                size = self.integer(Token("number", match[2], token.start + len(match[1]), token.start + len(base)))
                size_span = (token.start + len(match[1]), token.start + len(base))
            else:
                raise self.unknown_word(base, token)
        kind = LAYER_WORDS.get(word)
        if size is not None and kind not in SIZE_KEY:
            raise ParseError(f"{word} takes no window size", self.loc(*size_span),
                             hint=f"write {word}" + ("-N for N units" if kind in COUNT_KEY else ""), code="CNN117")
        count = None
        if dash:
            if kind not in COUNT_KEY:
                raise ParseError(f"{word} takes no '-N' count", self.loc(*count_span),
                                 hint="only CONV (filters) and FC (units) take one: CONV3-64, FC-4096", code="CNN117")
            count = self.integer(Token("number", count_text, *count_span))
        return word, size, count, (size_span, count_span)

    def unknown_word(self, base: str, token: Token) -> SpecError:
        """An unknown layer is an invalid model (exit 1), as in a YAML spec; the text itself parsed."""
        stem = re.sub(r"\d+$", "", base).upper() or base.upper()
        words = list(CORE_WORDS) + sorted(set(LAYER_WORDS) - set(CORE_WORDS))
        close = difflib.get_close_matches(stem, words, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}? " if close else ""
        return SpecError(f"unknown layer '{base}'", self.loc(token.start, token.start + len(base)),
                          hint=hint + "layers: " + ", ".join(CORE_WORDS) + " (and any cnncalc layer type)",
                          code="CNN113")

    def args(self, word: str) -> tuple[Arg, ...]:
        opener = self.advance()
        if word == INPUT_WORD:
            raise self.fail("INPUT takes its size in brackets, not arguments", opener,
                            hint="write INPUT[224x224x3]", code="CNN118")
        args: list[Arg] = []
        if self.peek().kind == ")":
            self.advance()
            return ()
        while True:
            args.append(self.arg())
            token = self.advance()
            if token.kind == ")":
                return tuple(args)
            if token.kind == "eof":
                raise self.fail(f"expected ')' to close '(' opened at {self.where(opener.start)}", token,
                                code="CNN112")
            if token.kind != ",":
                raise self.fail(f"expected ',' or ')', found {_describe(token)}", token,
                                hint="separate arguments with ','")

    def arg(self) -> Arg:
        first = self.peek()
        key = None
        if first.kind == "name" and self.peek(1).kind == "=":
            if "-" in first.text:
                raise self.fail(f"'{first.text}' is not a setting name", first, code="CNN116")
            key = first.text
            self.advance()
            self.advance()
        value_start = self.peek().start
        value = self.value(nested=False)
        end = self.tokens[self.pos - 1].end
        return Arg(key, value, (first.start, end), (value_start, end))

    def value(self, nested: bool) -> Value:
        token = self.advance()
        if token.kind == "number":
            if token.text.isdigit():
                return Num(self.integer(token))
            return Num(float(token.text))
        if token.kind == "dims":
            return Tup(tuple(Num(self.integer(Token("number", p, token.start, token.end)))
                             for p in token.text.lower().split("x")))
        if token.kind == "name" and "-" not in token.text:
            return Word(token.text)
        if token.kind == "(" and not nested:
            items = [self.value(nested=True)]
            while self.peek().kind == ",":
                self.advance()
                items.append(self.value(nested=True))
            close = self.advance()
            if close.kind != ")":
                raise self.fail(f"expected ',' or ')' in the list of values, found {_describe(close)}", close)
            if len(items) < 2:
                raise self.fail("a list of values needs two or more values", close,
                                hint="write the single value without parentheses")
            return Tup(tuple(items))
        if token.kind == "(":
            raise self.fail("lists of values do not nest", token, code="CNN111")
        if token.kind in (",", ")"):
            raise self.fail(f"expected a value, found {_describe(token)}", token,
                            hint="remove the extra ',' or give the value")
        raise self.fail(f"expected a value, found {_describe(token)}", token,
                        hint="a value is a number, a word such as same/avg, a variable, or (a, b)")


def parse(text: str, locator: Locator | None = None) -> Chain:
    """The AST of a pattern; a located `CnnCalcError` if it is malformed."""
    return _Parser(text, locator or Locator.for_text("<pattern>", text)).pattern()


def parse_layer_token(text: str, locator: Locator) -> Layer:
    """One layer with arguments, as `--set 'CONV(f=32)'` gives per-token defaults."""
    chain = parse(text, locator)
    if len(chain.items) != 1 or not isinstance(chain.items[0], Layer) or chain.items[0].word == INPUT_WORD:
        raise ParseError("expected one layer word with its settings, e.g. CONV(f=32, k=3)", locator.at(0, len(text)),
                         code="CNN119")
    return chain.items[0]
