/**
 * Token counting for the context manager: a tokenizer-like estimate, not a character ratio.
 *
 * Byte-pair-encoding tokenizers (OpenAI's cl100k/o200k, and the Llama 3 and Qwen families
 * built on the same idea) first cut text into pieces with one regular expression and then
 * merge bytes only inside a piece, so a count is a sum over pieces. This file cuts text into
 * the pieces cl100k's piece expression makes and estimates each piece from its shape:
 *
 * - a run of letters (with the space or punctuation mark before it): one token up to
 *   WORD_CHARS letters, then one more per LONG_WORD_RATE letters; letters outside ASCII count
 *   half a token each (accented Latin, Cyrillic), CJK characters one each;
 * - one to three digits: one token;
 * - a run of whitespace (indentation, blank lines): one token;
 * - a run of punctuation: one token per PUNCT_RATE ASCII characters, one per other symbol
 *   (emoji).
 *
 * Measured against cl100k_base and o200k_base (gpt-tokenizer 3.4) on Wove's own sources and
 * documents: TypeScript +1 %, Markdown +2 %, JSON +0.5 %, CSS and plain JS +9 % in total,
 * and −4 % … +13 % per file (10th to 90th percentile). German and French prose land within
 * ±10 % of o200k, Chinese and Japanese between the two encodings. Erring slightly high is the
 * safe side for a context budget. Each chat message adds MESSAGE_OVERHEAD tokens for its role
 * markers, as chat templates do.
 */
import type { ChatMessage } from "./types.ts";

/** Punctuation that BPE vocabularies usually merge with the word after it (`.map`, `(this`, `_id`). */
const JOINING_LEAD = new Set([" ", ".", "_", "(", "[", "{", "@", "#", "$", "/"].map((c) => c.charCodeAt(0)));

const WORD_CHARS = 7;
const LONG_WORD_RATE = 4;
const PUNCT_RATE = 3;
/** Role markers and separators a chat template adds around each message. */
export const MESSAGE_OVERHEAD = 4;

// ---- the pieces --------------------------------------------------------------------------------
//
// The pieces are those of cl100k's expression, which with the flags `giu` reads
//
//   '(?:[sdmt]|ll|ve|re) | [^\r\n\p{L}\p{N}]?\p{L}+ | \p{N}{1,3} | ␠?[^\s\p{L}\p{N}]+[\r\n]*
//   | \s*[\r\n]+ | \s+(?!\S) | \s+
//
// (alternatives tried in that order at each place). countTokens walks the text once by hand
// instead of running that expression and then testing each piece with more: a regular
// expression match costs an allocation per piece, and the context manager counts whole files
// on the way to the first token. tokens.test.ts checks the walk against the expression.

const LETTER = 1;
const NUMBER = 2;
const SPACE = 3;
const OTHER = 4;
/** The class of each code point of the BMP, learnt on first sight (0: not yet); others in `astral`. */
const classes = new Uint8Array(0x10000);
const astral = new Map<number, number>();
for (let cp = 0; cp < 0x80; cp++) {
  const letter = (cp >= 0x61 && cp <= 0x7a) || (cp >= 0x41 && cp <= 0x5a);
  classes[cp] = letter ? LETTER : cp >= 0x30 && cp <= 0x39 ? NUMBER : cp === 0x20 || (cp >= 0x09 && cp <= 0x0d) ? SPACE : OTHER;
}

function learn(cp: number): number {
  const ch = String.fromCodePoint(cp);
  const c = /\p{L}/u.test(ch) ? LETTER : /\p{N}/u.test(ch) ? NUMBER : /\s/u.test(ch) ? SPACE : OTHER;
  if (cp <= 0xffff) classes[cp] = c;
  else astral.set(cp, c);
  return c;
}

function classOf(cp: number): number {
  return (cp <= 0xffff ? classes[cp] : astral.get(cp)) || learn(cp);
}

const isCjk = (cp: number) =>
  (cp >= 0x3040 && cp <= 0x30ff) || (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0xac00 && cp <= 0xd7af) || (cp >= 0xf900 && cp <= 0xfaff);
const isNewline = (cp: number) => cp === 0x0a || cp === 0x0d;

/** Tokens of a run of letters: one up to WORD_CHARS letters, then one per LONG_WORD_RATE; outside ASCII half a token a letter, CJK one. */
function letterTokens(ascii: number, cjk: number, otherLetters: number): number {
  const asciiTokens = ascii === 0 ? 0 : ascii <= WORD_CHARS ? 1 : 1 + Math.ceil((ascii - WORD_CHARS) / LONG_WORD_RATE);
  if (cjk === 0 && otherLetters === 0) return asciiTokens;
  return Math.max(1, Math.round(asciiTokens + cjk + otherLetters * 0.5));
}

/**
 * Counts of texts seen lately: the system prompt and a conversation's messages are counted
 * again on every question, and looking a text up (hashing it) costs a fraction of counting it.
 */
const remembered = new Map<string, number>();
const REMEMBER_CHARS = { from: 256, upTo: 1_000_000, total: 4_000_000 };
let rememberedChars = 0;

/**
 * Estimated tokens of a text. With `limit`, counting stops once past it — the result is then
 * some number above `limit` — so that a long file is not counted to its end only to be cut.
 */
export function countTokens(text: string, limit = Number.POSITIVE_INFINITY): number {
  if (limit !== Number.POSITIVE_INFINITY || text.length < REMEMBER_CHARS.from || text.length > REMEMBER_CHARS.upTo) return scan(text, limit);
  const known = remembered.get(text);
  if (known !== undefined) return known;
  const tokens = scan(text, limit);
  remembered.set(text, tokens);
  rememberedChars += text.length;
  for (const [old] of remembered) {
    if (rememberedChars <= REMEMBER_CHARS.total) break;
    remembered.delete(old);
    rememberedChars -= old.length;
  }
  return tokens;
}

function scan(text: string, limit: number): number {
  const n = text.length;
  let tokens = 0;
  let i = 0;
  while (i < n && tokens <= limit) {
    const c = text.codePointAt(i) as number;
    const w = c > 0xffff ? 2 : 1;
    const cls = classOf(c);
    // '(?:[sdmt]|ll|ve|re), case-insensitive (ſ folds to s): the mark and one short word.
    if (c === 0x27 && i + 1 < n) {
      const a = text.charCodeAt(i + 1) | 0x20;
      const b = i + 2 < n ? text.charCodeAt(i + 2) | 0x20 : 0;
      const one = a === 0x73 || a === 0x64 || a === 0x6d || a === 0x74 || text.charCodeAt(i + 1) === 0x17f;
      if (one || (a === 0x6c && b === 0x6c) || (a === 0x76 && b === 0x65) || (a === 0x72 && b === 0x65)) {
        tokens += 2;
        i += one ? 2 : 3;
        continue;
      }
    }
    // [^\r\n\p{L}\p{N}]?\p{L}+: a word, with the mark or space before it.
    const wordAt = cls === LETTER ? i : cls !== NUMBER && !isNewline(c) && i + w < n && classOf(text.codePointAt(i + w) as number) === LETTER ? i + w : -1;
    if (wordAt >= 0) {
      let ascii = 0;
      let cjk = 0;
      let other = 0;
      let k = wordAt;
      while (k < n) {
        const u = text.charCodeAt(k);
        if (u < 0x80) {
          if (classes[u] !== LETTER) break;
          ascii++;
          k++;
          continue;
        }
        const cp = text.codePointAt(k) as number;
        if (classOf(cp) !== LETTER) break;
        if (isCjk(cp)) cjk++;
        else other++;
        k += cp > 0xffff ? 2 : 1;
      }
      tokens += letterTokens(ascii, cjk, other) + (wordAt > i && !JOINING_LEAD.has(c) ? 1 : 0);
      i = k;
      continue;
    }
    // \p{N}{1,3}
    if (cls === NUMBER) {
      let k = i;
      for (let d = 0; d < 3 && k < n; d++) {
        const cp = text.codePointAt(k) as number;
        if (classOf(cp) !== NUMBER) break;
        k += cp > 0xffff ? 2 : 1;
      }
      tokens += 1;
      i = k;
      continue;
    }
    // ␠?[^\s\p{L}\p{N}]+[\r\n]*: punctuation, a token per PUNCT_RATE ASCII marks, one per other symbol.
    if (cls === OTHER || (c === 0x20 && i + 1 < n && classOf(text.codePointAt(i + 1) as number) === OTHER)) {
      let k = cls === OTHER ? i : i + 1;
      let ascii = 0;
      let other = 0;
      while (k < n) {
        const cp = text.codePointAt(k) as number;
        if (classOf(cp) !== OTHER) break;
        if (cp < 0x80) ascii++;
        else other++;
        k += cp > 0xffff ? 2 : 1;
      }
      while (k < n && isNewline(text.charCodeAt(k))) k++;
      tokens += Math.max(1, Math.ceil(ascii / PUNCT_RATE) + other);
      i = k;
      continue;
    }
    // Whitespace (no whitespace is outside the BMP): \s*[\r\n]+ up to its last line break, else \s+(?!\S), else \s+ — a token each.
    let end = i;
    let lastBreak = -1;
    while (end < n && classOf(text.charCodeAt(end)) === SPACE) {
      if (isNewline(text.charCodeAt(end))) lastBreak = end;
      end++;
    }
    tokens += 1;
    i = lastBreak >= 0 ? lastBreak + 1 : end === n || end - i === 1 ? end : end - 1;
  }
  return tokens;
}

/** Estimated tokens of one chat message, role markers included. */
export function messageTokens(m: Pick<ChatMessage, "content">): number {
  return countTokens(m.content) + MESSAGE_OVERHEAD;
}

/** Estimated tokens of a whole prompt. */
export function promptTokens(messages: Pick<ChatMessage, "content">[]): number {
  let n = 0;
  for (const m of messages) n += messageTokens(m);
  return n;
}

/** The lines of `text` (as `split("\n")` has them), from the first or from the last, without splitting the whole text. */
function* linesOf(text: string, fromEnd: boolean): Generator<string> {
  if (!fromEnd) {
    for (let from = 0; ; ) {
      const nl = text.indexOf("\n", from);
      if (nl < 0) return yield text.slice(from);
      yield text.slice(from, nl);
      from = nl + 1;
    }
  }
  for (let to = text.length; ; ) {
    const nl = to === 0 ? -1 : text.lastIndexOf("\n", to - 1);
    if (nl < 0) return yield text.slice(0, to);
    yield text.slice(nl + 1, to);
    to = nl;
  }
}

/**
 * The longest run of whole lines from the start of `text` that fits `maxTokens` (a line longer
 * than the budget is cut inside). `fromEnd` keeps the last lines instead.
 */
export function fitLines(text: string, maxTokens: number, fromEnd = false): { text: string; tokens: number; cut: boolean } {
  const total = countTokens(text, maxTokens);
  if (total <= maxTokens) return { text, tokens: total, cut: false };
  if (maxTokens <= 0) return { text: "", tokens: 0, cut: true };
  const kept: string[] = [];
  let used = 0;
  for (const line of linesOf(text, fromEnd)) {
    const cost = countTokens(line) + 1;
    if (used + cost > maxTokens) {
      if (kept.length === 0) {
        // One long line: keep as many characters as the budget allows (about 3 per token).
        const chars = Math.max(0, maxTokens * 3);
        kept.push(fromEnd ? line.slice(-chars) : line.slice(0, chars));
        used = countTokens(kept[0] ?? "");
      }
      break;
    }
    kept.push(line);
    used += cost;
  }
  if (fromEnd) kept.reverse();
  return { text: kept.join("\n"), tokens: used, cut: true };
}
