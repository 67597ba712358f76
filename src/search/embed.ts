/**
 * Embedders: text → vectors for semantic search. One interface, three kinds:
 * - the built-in embedder below (no download, no network; what a fresh instance uses),
 * - Ollama's `POST /api/embed` and OpenAI-compatible `POST /v1/embeddings` (embed-http.ts),
 * chosen by the admin (embedder-settings.ts).
 *
 * The built-in embedder is feature hashing with a fixed random rotation:
 * 1. Features of the text: words and identifier sub-tokens (`hashPassword` → hash, password;
 *    `snake_case` → snake, case), lower-cased and lightly stemmed (charts → chart,
 *    hashed → hash); whole compound identifiers; character trigrams of each sub-token (so
 *    `passwd` still meets `password`); and a small programming thesaurus that maps words to
 *    concepts (chart, plot, d3, svg → "visualisation"; bcrypt, argon2, salt → "hashing"), which
 *    is what lets "draw a bar chart" meet D3 code that never says "draw". English stop words
 *    are dropped and language keywords count little. Weights grow with log(term frequency).
 * 2. Each feature adds ±weight to one of 384 buckets (two independent hashes pick the bucket
 *    and the sign), so a feature's contribution does not depend on a vocabulary.
 * 3. The 384-vector is multiplied by a fixed random orthogonal matrix (seeded, the same in
 *    every process) and L2-normalised. The rotation keeps every cosine as it was, but spreads
 *    each feature over all dimensions, so the sign bits of the result are random-hyperplane
 *    hashes (SimHash): the Hamming distance between two binary-quantized vectors estimates the
 *    angle between them, which is what the coarse binary index (vectors.ts) relies on.
 * Changing anything here changes the vectors: bump BUILTIN_ID so indexes re-embed.
 */
import { CONCEPT_GROUPS } from "./embed-concepts.ts";

export interface Embedder {
  /** Names the vector space: vectors from embedders with different ids are never compared. */
  readonly id: string;
  readonly dims: number;
  /** One L2-normalised vector per text, in order. */
  embed(texts: string[]): Promise<Float32Array[]>;
}

export const BUILTIN_ID = "builtin:hash-v1";
export const BUILTIN_DIMS = 384;
/** Text past this length is not read (chunks are far shorter; a query longer than this is odd). */
const MAX_TEXT = 12_000;

const STOP = new Set(
  "a an the and or but if then else of to in on at by for with from into onto as is are was were be been being this that these those it its i you we they he she me my our your their do does did can could should would will shall may might must not no yes so such than too very just also only how what when where which who whom why all any each some there here up down out over under again about".split(" "),
);
/** Words every program is full of: they say little about what a piece of code does. */
const KEYWORDS = new Set(
  "const let var function return import export default class new this self def fn func pub public private protected static void int string number boolean bool true false null undefined none nil async await type interface extends implements package use using namespace struct enum impl mut ref val end begin do while for if else elif switch case break continue try catch finally throw throws raise except lambda yield of in is from as get set require module exports include".split(" "),
);

/** Identifier and word tokens: letters, digits, `_` and `$`. */
const TOKEN_RE = /[\p{L}\p{N}_$]+/gu;
/** camelCase / PascalCase / ACRONYMWord boundaries; `_`, `$` and `-` separate too. */
const PART_RE = /[\p{Lu}]+(?=[\p{Lu}][\p{Ll}])|[\p{Lu}]?[\p{Ll}\p{N}]+|[\p{Lu}\p{N}]+|[^\s_$]+/gu;

/** Splits an identifier into lower-case parts: `parseHTTPResponse2` → parse, http, response2. */
export function splitIdentifier(token: string): string[] {
  const parts: string[] = [];
  for (const piece of token.split(/[_$]+/)) {
    if (piece === "") continue;
    for (const m of piece.matchAll(PART_RE)) parts.push(m[0].toLowerCase());
  }
  return parts;
}

/** A light English stemmer: plurals, -ing, -ed. Enough to meet charts/chart, hashed/hash. */
export function stem(w: string): string {
  if (w.length <= 3 || /\d/.test(w)) return w;
  if (w.endsWith("ies") && w.length > 4) return `${w.slice(0, -3)}y`;
  if (w.endsWith("sses")) return w.slice(0, -2);
  if (/(ch|sh|x|ss|zz)es$/.test(w)) return w.slice(0, -2);
  if (w.endsWith("s") && !w.endsWith("ss") && !w.endsWith("us") && !w.endsWith("is")) return w.slice(0, -1);
  if (w.endsWith("ing") && w.length > 5) return undouble(w.slice(0, -3));
  if (w.endsWith("ed") && w.length > 4) return undouble(w.slice(0, -2));
  return w;
}

let concepts: Map<string, string[]> | undefined;

/** The concepts (embed-concepts.ts) a stemmed word names. */
export function conceptsOf(stemmed: string): string[] {
  if (!concepts) {
    concepts = new Map();
    for (const [concept, words] of Object.entries(CONCEPT_GROUPS)) {
      for (const w of words.split(/\s+/)) {
        const s = stem(w.toLowerCase());
        const list = concepts.get(s) ?? [];
        if (!list.includes(concept)) list.push(concept);
        concepts.set(s, list);
      }
    }
  }
  return concepts.get(stemmed) ?? [];
}

function undouble(w: string): string {
  return /([^aeiouls])\1$/.test(w) ? w.slice(0, -1) : w;
}

/** The weighted features of one token, before hashing (exported for tests and tuning). */
export function tokenFeatures(token: string): [feature: string, weight: number][] {
  const out: [string, number][] = [];
  if (token.length > 64) return out; // base64, hashes, minified noise
  const parts = splitIdentifier(token);
  if (parts.length > 1) out.push([`i:${parts.join("")}`, 0.5]);
  for (const raw of parts) {
    if (raw.length < 2 && !/\d/.test(raw)) continue;
    if (STOP.has(raw)) continue;
    const s = stem(raw);
    const keyword = KEYWORDS.has(raw);
    out.push([`w:${s}`, keyword ? 0.15 : 1]);
    if (keyword) continue;
    for (const c of conceptsOf(s)) out.push([`c:${c}`, 0.6]);
    if (s.length >= 4) {
      const padded = `^${s}$`;
      const n = padded.length - 2;
      const w = 0.35 / Math.sqrt(n);
      for (let i = 0; i < n; i++) out.push([`g:${padded.slice(i, i + 3)}`, w]);
    }
  }
  return out;
}

type Hashed = { buckets: Int32Array; weights: Float32Array };
/** Token → its hashed features. Identifiers repeat across a codebase, so this saves most work. */
const tokenCache = new Map<string, Hashed>();
const TOKEN_CACHE_MAX = 200_000;

function hashedToken(token: string, dims: number): Hashed {
  const hit = tokenCache.get(token);
  if (hit && dims === BUILTIN_DIMS) return hit;
  const feats = tokenFeatures(token);
  const buckets = new Int32Array(feats.length);
  const weights = new Float32Array(feats.length);
  feats.forEach(([f, w], i) => {
    buckets[i] = hash32(f, 0) % dims;
    weights[i] = hash32(f, 0x9e3779b9) & 1 ? -w : w;
  });
  const h = { buckets, weights };
  if (dims === BUILTIN_DIMS) {
    if (tokenCache.size >= TOKEN_CACHE_MAX) tokenCache.clear();
    tokenCache.set(token, h);
  }
  return h;
}

/** The hashed (not yet rotated) vector: each distinct token's features, weighted 1 + log(count). */
function hashedVector(text: string, dims: number): Float32Array {
  const counts = new Map<string, number>();
  for (const m of text.slice(0, MAX_TEXT).matchAll(TOKEN_RE)) counts.set(m[0], (counts.get(m[0]) ?? 0) + 1);
  const v = new Float32Array(dims);
  for (const [token, n] of counts) {
    const { buckets, weights } = hashedToken(token, dims);
    // Sub-linear in repetition: a word used ten times is not ten times as telling.
    const tf = n === 1 ? 1 : 1 + Math.log(n);
    for (let i = 0; i < buckets.length; i++) {
      const b = buckets[i] as number;
      v[b] = (v[b] as number) + tf * (weights[i] as number);
    }
  }
  return v;
}

/** FNV-1a over UTF-16 code units, then murmur3's finaliser. */
function hash32(s: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const rotations = new Map<number, Float32Array>();

/**
 * The fixed random orthogonal matrix for `d` dimensions, stored column by column: Gram–Schmidt
 * over seeded Gaussians (about 50 ms once per process).
 */
function rotationMatrix(d: number): Float32Array {
  const known = rotations.get(d);
  if (known) return known;
  let s = 0x2545f491;
  const rand = () => {
    // xorshift32: deterministic in every process, which is the point.
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) + 1) / 4294967297;
  };
  const m = new Float64Array(d * d);
  for (let i = 0; i < d * d; i += 2) {
    const r = Math.sqrt(-2 * Math.log(rand()));
    const t = 2 * Math.PI * rand();
    m[i] = r * Math.cos(t);
    m[i + 1] = r * Math.sin(t);
  }
  for (let i = 0; i < d; i++) {
    const row = i * d;
    for (let j = 0; j < i; j++) {
      const other = j * d;
      let dot = 0;
      for (let k = 0; k < d; k++) dot += (m[row + k] as number) * (m[other + k] as number);
      for (let k = 0; k < d; k++) m[row + k] = (m[row + k] as number) - dot * (m[other + k] as number);
    }
    let norm = 0;
    for (let k = 0; k < d; k++) norm += (m[row + k] as number) ** 2;
    norm = 1 / Math.sqrt(norm);
    for (let k = 0; k < d; k++) m[row + k] = (m[row + k] as number) * norm;
  }
  // Rows of m are orthonormal; store its transpose so R's columns are contiguous.
  const t = new Float32Array(d * d);
  for (let i = 0; i < d; i++) for (let k = 0; k < d; k++) t[k * d + i] = m[i * d + k] as number;
  rotations.set(d, t);
  return t;
}

/** The built-in embedding of one text (synchronous; the Embedder wraps it). */
export function embedBuiltin(text: string, dims = BUILTIN_DIMS): Float32Array {
  const hashed = hashedVector(text, dims);
  const rt = rotationMatrix(dims);
  const out = new Float32Array(dims);
  // out = R · hashed, summed column by column over the non-zero buckets (rt holds R's columns).
  for (let k = 0; k < dims; k++) {
    const b = hashed[k] as number;
    if (b === 0) continue;
    const col = k * dims;
    for (let i = 0; i < dims; i++) out[i] = (out[i] as number) + (rt[col + i] as number) * b;
  }
  return normalise(out);
}

/** Scales `v` to unit length in place (a zero vector stays zero). `sumSquares` when already known. */
export function normalise(v: Float32Array, sumSquares?: number): Float32Array {
  let n = sumSquares;
  if (n === undefined) {
    n = 0;
    for (let i = 0; i < v.length; i++) n += (v[i] as number) ** 2;
  }
  if (n === 0) return v;
  const inv = 1 / Math.sqrt(n);
  for (let i = 0; i < v.length; i++) v[i] = (v[i] as number) * inv;
  return v;
}

export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

export const builtinEmbedder: Embedder = {
  id: BUILTIN_ID,
  dims: BUILTIN_DIMS,
  async embed(texts) {
    return texts.map((t) => embedBuiltin(t));
  },
};
