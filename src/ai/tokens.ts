/**
 * Token counting for the context manager: a tokenizer-like estimate, not a character ratio.
 *
 * Byte-pair-encoding tokenizers (OpenAI's cl100k/o200k, and the Llama 3 and Qwen families
 * built on the same idea) first cut text into pieces with one regular expression and then
 * merge bytes only inside a piece, so a count is a sum over pieces. This file cuts text with
 * the same piece expression cl100k uses and estimates each piece from its shape:
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

const PIECE = /'(?:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/giu;
const WORD = /^([^\p{L}\p{N}]?)(\p{L}+)$/u;
const CJK = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]/u;
/** Punctuation that BPE vocabularies usually merge with the word after it (`.map`, `(this`, `_id`). */
const JOINING_LEAD = /[ ._([{@#$/]/;

const WORD_CHARS = 7;
const LONG_WORD_RATE = 4;
const PUNCT_RATE = 3;
/** Role markers and separators a chat template adds around each message. */
export const MESSAGE_OVERHEAD = 4;

function letterTokens(word: string): number {
  if (/^[A-Za-z]+$/.test(word)) return word.length <= WORD_CHARS ? 1 : 1 + Math.ceil((word.length - WORD_CHARS) / LONG_WORD_RATE);
  let ascii = 0;
  let other = 0;
  for (const ch of word) {
    if (ch.charCodeAt(0) < 0x80) ascii++;
    else other += CJK.test(ch) ? 1 : 0.5;
  }
  const asciiTokens = ascii === 0 ? 0 : ascii <= WORD_CHARS ? 1 : 1 + Math.ceil((ascii - WORD_CHARS) / LONG_WORD_RATE);
  return Math.max(1, Math.round(asciiTokens + other));
}

function pieceTokens(piece: string): number {
  const word = WORD.exec(piece);
  if (word) {
    const lead = word[1] ?? "";
    return letterTokens(word[2] ?? "") + (lead !== "" && !JOINING_LEAD.test(lead) ? 1 : 0);
  }
  if (/^\p{N}+$/u.test(piece) || /^\s+$/.test(piece)) return 1;
  const core = piece.replace(/^ /, "").replace(/[\r\n]+$/, "");
  let ascii = 0;
  let other = 0;
  for (const ch of core) {
    if (ch.charCodeAt(0) < 0x80) ascii++;
    else other++;
  }
  return Math.max(1, Math.ceil(ascii / PUNCT_RATE) + other);
}

/** Estimated tokens of a text. */
export function countTokens(text: string): number {
  let n = 0;
  for (const m of text.matchAll(PIECE)) n += pieceTokens(m[0]);
  return n;
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

/**
 * The longest run of whole lines from the start of `text` that fits `maxTokens` (a line longer
 * than the budget is cut inside). `fromEnd` keeps the last lines instead.
 */
export function fitLines(text: string, maxTokens: number, fromEnd = false): { text: string; tokens: number; cut: boolean } {
  const total = countTokens(text);
  if (total <= maxTokens) return { text, tokens: total, cut: false };
  if (maxTokens <= 0) return { text: "", tokens: 0, cut: true };
  const lines = text.split("\n");
  if (fromEnd) lines.reverse();
  const kept: string[] = [];
  let used = 0;
  for (const line of lines) {
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
