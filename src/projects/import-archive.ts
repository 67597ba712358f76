/**
 * Reading uploaded archives (zip, tar, tar.gz) into a list of files, for project import.
 *
 * Archives are hostile input: every limit is checked before anything is inflated or written
 * (entry count, declared sizes, compression ratio), inflation is capped at the size the entry
 * declares, and every path goes through the same check as any file path (validatePath), so an
 * entry can never name a place outside the project (`../`, `/abs`, `C:\`, backslashes).
 * Symbolic links, hard links and devices are refused, not skipped: an import either brings
 * everything or nothing. Nothing here touches the disk.
 */
import { gunzipSync, inflateRawSync } from "node:zlib";
import { ApiError, invalid } from "../lib/errors.ts";
import { validatePath } from "./files.ts";

export type ArchiveLimits = {
  /** Largest total of the files' uncompressed sizes. */
  maxTotalBytes: number;
  /** Largest single file. */
  maxFileBytes: number;
  maxEntries: number;
  /** Largest uncompressed/compressed ratio, per zip entry and overall (zip bombs). */
  maxRatio: number;
};

export const DEFAULT_ARCHIVE_LIMITS: Omit<ArchiveLimits, "maxTotalBytes" | "maxFileBytes"> = { maxEntries: 10_000, maxRatio: 100 };

/** Below this size, a high ratio is harmless (a file of spaces) and not refused. */
const RATIO_FLOOR_BYTES = 1024 * 1024;

export type ArchiveFiles = { files: { path: string; bytes: Uint8Array; executable: boolean }[]; dirs: string[] };

type RawEntry = { name: string; kind: "file" | "dir"; bytes?: Uint8Array; executable?: boolean };

export function archiveError(message: string, entry?: string): ApiError {
  return invalid(message, entry === undefined ? { archive: message } : { archive: message, entry });
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function decodeName(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw archiveError("An entry's name is not valid UTF-8.");
  }
}

function checkRatio(expanded: number, compressed: number, limits: ArchiveLimits, what: string, entry?: string): void {
  if (expanded >= RATIO_FLOOR_BYTES && expanded > compressed * limits.maxRatio) {
    throw archiveError(`${what} expands more than ${limits.maxRatio}× (${expanded} bytes from ${compressed}); it looks like a zip bomb and was refused.`, entry);
  }
}

// ---------------------------------------------------------------------------------------------
// Zip

const EOCD_SIG = 0x06054b50;
const CEN_SIG = 0x02014b50;
const LOC_SIG = 0x04034b50;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

function corrupt(why: string): ApiError {
  return archiveError(`The zip file is corrupt or not a zip file: ${why}.`);
}

function readZip(buf: Buffer, limits: ArchiveLimits): RawEntry[] {
  if (buf.length < 22) throw corrupt("it is too short");
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === EOCD_SIG) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw corrupt("no end-of-archive record");
  const count = buf.readUInt16LE(eocd + 10);
  const cdSize = buf.readUInt32LE(eocd + 12);
  const cdOffset = buf.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdOffset === 0xffffffff || cdSize === 0xffffffff) throw archiveError("ZIP64 archives are not supported; use a regular zip or a .tar.gz.");
  if (count > limits.maxEntries) throw archiveError(`The archive has ${count} entries; at most ${limits.maxEntries} are allowed.`);
  if (cdOffset + cdSize > eocd) throw corrupt("the central directory is out of bounds");

  const entries: RawEntry[] = [];
  let declaredTotal = 0;
  let compressedTotal = 0;
  let p = cdOffset;
  for (let n = 0; n < count; n++) {
    if (p + 46 > eocd || buf.readUInt32LE(p) !== CEN_SIG) throw corrupt("a central directory record is damaged");
    const madeBy = buf.readUInt16LE(p + 4) >> 8;
    const flags = buf.readUInt16LE(p + 8);
    const method = buf.readUInt16LE(p + 10);
    const crc = buf.readUInt32LE(p + 16);
    const csize = buf.readUInt32LE(p + 20);
    const usize = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const mode = buf.readUInt32LE(p + 38) >>> 16;
    const local = buf.readUInt32LE(p + 42);
    if (p + 46 + nameLen > eocd) throw corrupt("an entry name is out of bounds");
    const name = decodeName(buf.subarray(p + 46, p + 46 + nameLen));
    p += 46 + nameLen + extraLen + commentLen;

    const type = madeBy === 3 ? mode & S_IFMT : 0; // only Unix-made zips carry a file type
    if (type === S_IFLNK) throw archiveError(`"${name}" is a symbolic link; archives with symlinks cannot be imported.`, name);
    if (type !== 0 && type !== S_IFREG && type !== S_IFDIR) throw archiveError(`"${name}" is not a regular file or folder.`, name);
    if (name.endsWith("/") || type === S_IFDIR) {
      entries.push({ name, kind: "dir" });
      continue;
    }
    if (flags & 1) throw archiveError(`"${name}" is encrypted; encrypted zips cannot be imported.`, name);
    if (usize > limits.maxFileBytes) throw archiveError(`"${name}" is ${usize} bytes; the largest file allowed is ${limits.maxFileBytes} bytes.`, name);
    declaredTotal += usize;
    compressedTotal += csize;
    if (declaredTotal > limits.maxTotalBytes) throw archiveError(`The archive's files add up to more than ${limits.maxTotalBytes} bytes, the import limit.`);
    checkRatio(usize, csize, limits, `"${name}"`, name);

    if (local + 30 > buf.length || buf.readUInt32LE(local) !== LOC_SIG) throw corrupt(`the local header of "${name}" is damaged`);
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    if (start + csize > buf.length) throw corrupt(`the data of "${name}" is out of bounds`);
    const data = buf.subarray(start, start + csize);
    let bytes: Uint8Array;
    if (method === 0) {
      if (csize !== usize) throw corrupt(`"${name}" is stored with mismatched sizes`);
      bytes = data;
    } else if (method === 8) {
      try {
        bytes = usize === 0 ? new Uint8Array(0) : inflateRawSync(data, { maxOutputLength: usize });
      } catch {
        throw corrupt(`"${name}" does not inflate to its declared ${usize} bytes`);
      }
    } else {
      throw archiveError(`"${name}" uses compression method ${method}; only stored and deflated entries are supported.`, name);
    }
    if (bytes.byteLength !== usize) throw corrupt(`"${name}" does not inflate to its declared ${usize} bytes`);
    if (Bun.hash.crc32(bytes) >>> 0 !== crc) throw corrupt(`"${name}" fails its checksum`);
    entries.push({ name, kind: "file", bytes, executable: (mode & 0o111) !== 0 && type === S_IFREG });
  }
  checkRatio(declaredTotal, Math.max(compressedTotal, 1), limits, "The archive");
  return entries;
}

// ---------------------------------------------------------------------------------------------
// Tar (ustar, pax and GNU long names), optionally gzipped

function field(block: Buffer, at: number, len: number): Buffer {
  const end = block.indexOf(0, at);
  return block.subarray(at, end >= 0 && end < at + len ? end : at + len);
}

function octal(block: Buffer, at: number, len: number): number {
  if (block[at]! & 0x80) {
    // GNU base-256: sizes this large are over every limit anyway
    throw archiveError("The archive has an entry over 8 GB.");
  }
  const s = field(block, at, len).toString("latin1").trim();
  if (s === "") return 0;
  if (!/^[0-7]+$/.test(s)) throw archiveError("The tar file is corrupt: a header has a bad number.");
  return parseInt(s, 8);
}

function paxRecords(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let p = 0;
  while (p < data.length) {
    const sp = data.indexOf(0x20, p);
    const len = sp > p ? Number(data.subarray(p, sp).toString("latin1")) : NaN;
    if (!Number.isInteger(len) || len <= 0 || p + len > data.length) throw archiveError("The tar file is corrupt: a pax header is damaged.");
    const rec = decodeName(data.subarray(sp + 1, p + len - 1));
    const eq = rec.indexOf("=");
    if (eq > 0) out.set(rec.slice(0, eq), rec.slice(eq + 1));
    p += len;
  }
  return out;
}

function ungzip(buf: Buffer, limits: ArchiveLimits): Buffer {
  // Room for the files plus tar's headers and padding, and never more than the ratio allows.
  const tarMax = limits.maxTotalBytes + (limits.maxEntries + 2) * 1536;
  const cap = Math.min(tarMax, Math.max(RATIO_FLOOR_BYTES, buf.length * limits.maxRatio));
  try {
    return gunzipSync(buf, { maxOutputLength: cap });
  } catch (e) {
    if (e instanceof RangeError || (e as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
      throw archiveError(
        cap < tarMax
          ? `The archive expands more than ${limits.maxRatio}× its size; it looks like a zip bomb and was refused.`
          : `The archive's files add up to more than ${limits.maxTotalBytes} bytes, the import limit.`,
      );
    }
    throw archiveError("The gzip data is corrupt.");
  }
}

function readTar(input: Buffer, limits: ArchiveLimits): RawEntry[] {
  const buf = input[0] === 0x1f && input[1] === 0x8b ? ungzip(input, limits) : input;
  const entries: RawEntry[] = [];
  let total = 0;
  let pax = new Map<string, string>();
  let longName: string | undefined;
  let p = 0;
  for (;;) {
    if (p + 512 > buf.length) throw archiveError("The tar file is corrupt or truncated: it has no end marker.");
    const block = buf.subarray(p, p + 512);
    if (block.every((b) => b === 0)) break;
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
    if (sum !== octal(block, 148, 8)) throw archiveError("The tar file is corrupt or not a tar file: a header checksum is wrong.");
    const type = String.fromCharCode(block[156] || 0x30);
    const size = pax.has("size") ? Number(pax.get("size")) : octal(block, 124, 12);
    if (!Number.isSafeInteger(size) || size < 0) throw archiveError("The tar file is corrupt: an entry has a bad size.");
    const dataStart = p + 512;
    p = dataStart + Math.ceil(size / 512) * 512;
    if (dataStart + size > buf.length) throw archiveError("The tar file is truncated.");
    const data = buf.subarray(dataStart, dataStart + size);

    if (type === "x") {
      pax = paxRecords(data);
      continue;
    }
    if (type === "g") continue; // global pax header (git archive writes one): nothing we use
    if (type === "L") {
      longName = decodeName(field(data, 0, data.length));
      continue;
    }
    if (type === "K") continue; // GNU long link name: links are refused below anyway
    const isUstar = block.subarray(257, 262).toString("latin1") === "ustar";
    const prefix = isUstar ? decodeName(field(block, 345, 155)) : "";
    const shortName = decodeName(field(block, 0, 100));
    const name = pax.get("path") ?? longName ?? (prefix ? `${prefix}/${shortName}` : shortName);
    pax = new Map();
    longName = undefined;

    if (entries.length >= limits.maxEntries) throw archiveError(`The archive has more than ${limits.maxEntries} entries, the limit.`);
    if (type === "1" || type === "2") {
      throw archiveError(`"${name}" is a ${type === "2" ? "symbolic" : "hard"} link; archives with links cannot be imported.`, name);
    }
    if (type === "5") {
      entries.push({ name, kind: "dir" });
      continue;
    }
    if (type !== "0" && type !== "7") throw archiveError(`"${name}" is not a regular file or folder.`, name);
    if (size > limits.maxFileBytes) throw archiveError(`"${name}" is ${size} bytes; the largest file allowed is ${limits.maxFileBytes} bytes.`, name);
    total += size;
    if (total > limits.maxTotalBytes) throw archiveError(`The archive's files add up to more than ${limits.maxTotalBytes} bytes, the import limit.`);
    entries.push({ name, kind: "file", bytes: data, executable: (octal(block, 100, 8) & 0o111) !== 0 });
  }
  return entries;
}

// ---------------------------------------------------------------------------------------------
// Paths

/** An entry name as a project path: the same rules as any path, with zip/tar quirks named. */
function entryPath(name: string): string | null {
  const shown = name;
  if (name.includes("\\")) throw archiveError(`"${shown}" uses backslashes; entries must use / between folders.`, shown);
  if (/^[A-Za-z]:/.test(name)) throw archiveError(`"${shown}" has a drive letter; entries must be relative paths.`, shown);
  if (name.startsWith("/")) throw archiveError(`"${shown}" is an absolute path; entries must be relative.`, shown);
  const rel = name.replace(/^(?:\.\/)+/, "");
  if (rel === "" || rel === ".") return null; // the archive's root folder ("./" from `tar -C dir .`)
  try {
    return validatePath(rel);
  } catch (e) {
    throw archiveError(`"${shown}" is not an allowed path: ${(e as Error).message}`, shown);
  }
}

/** Drops the one folder every entry sits in (GitHub's `repo-main/…`), if there is one. */
function stripCommonFolder<E extends { path: string; kind: "file" | "dir" }>(entries: E[]): E[] {
  const first = entries[0]?.path.split("/")[0];
  if (first === undefined) return entries;
  const under = (e: { path: string; kind: string }) => e.path.startsWith(`${first}/`) || (e.kind === "dir" && e.path === first);
  if (!entries.every(under) || !entries.some((e) => e.path.startsWith(`${first}/`))) return entries;
  return entries.filter((e) => e.path !== first).map((e) => ({ ...e, path: e.path.slice(first.length + 1) }));
}

export type ArchiveFormat = "zip" | "tar";

/** The format of `bytes` by its magic number (zip: PK\3\4 or an empty PK\5\6; gzip: 1f 8b; tar: "ustar" at 257). */
export function sniffFormat(bytes: Uint8Array): ArchiveFormat | null {
  if (bytes[0] === 0x50 && bytes[1] === 0x4b && (bytes[2] === 3 || bytes[2] === 5)) return "zip";
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) return "tar";
  if (Buffer.from(bytes.subarray(257, 262)).toString("latin1") === "ustar") return "tar";
  return null;
}

/** Reads and checks an archive; 422 (details.archive, details.entry) for anything unsafe or broken. */
export function readArchive(bytes: Uint8Array, format: ArchiveFormat, limits: ArchiveLimits): ArchiveFiles {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const raw = format === "zip" ? readZip(buf, limits) : readTar(buf, limits);
  const named = raw.flatMap((e) => {
    const path = entryPath(e.name);
    return path === null ? [] : [{ path, kind: e.kind, bytes: e.bytes, executable: e.executable === true }];
  });
  const checked = stripCommonFolder(named);
  const files = new Map<string, { bytes: Uint8Array; executable: boolean }>();
  const dirs = new Set<string>();
  for (const e of checked) {
    if (e.kind === "dir") {
      dirs.add(e.path);
      continue;
    }
    if (files.has(e.path)) throw archiveError(`"${e.path}" appears more than once in the archive.`, e.path);
    files.set(e.path, { bytes: e.bytes ?? new Uint8Array(0), executable: e.executable });
  }
  // A file where another entry needs a folder ("a" and "a/b") cannot be written.
  const parents = new Set<string>(dirs);
  for (const path of files.keys()) {
    const segs = path.split("/");
    for (let i = 1; i < segs.length; i++) parents.add(segs.slice(0, i).join("/"));
  }
  for (const path of files.keys()) {
    if (parents.has(path)) throw archiveError(`"${path}" is both a file and a folder in the archive.`, path);
  }
  if (files.size === 0) throw archiveError("The archive has no files.");
  return { files: [...files].map(([path, f]) => ({ path, ...f })), dirs: [...dirs].filter((d) => d !== "") };
}
