/**
 * Test helpers: builds zip and tar archives byte by byte, so tests can make the hostile ones
 * (`../` names, symlinks, bombs) no well-behaved archiver would write.
 */
import { deflateRawSync, gzipSync } from "node:zlib";

export type ZipEntry = {
  name: string;
  data?: string | Uint8Array;
  /** Unix mode with file type, e.g. 0o120777 for a symlink; stored as made on Unix. */
  mode?: number;
  stored?: boolean;
};

const enc = new TextEncoder();
const bytesOf = (d: string | Uint8Array | undefined) => (typeof d === "string" ? enc.encode(d) : (d ?? new Uint8Array(0)));

export function buildZip(entries: ZipEntry[]): Uint8Array {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, "utf8");
    const raw = bytesOf(e.data);
    const body = e.stored ? Buffer.from(raw) : deflateRawSync(raw);
    const crc = Bun.hash.crc32(raw) >>> 0;
    const method = e.stored ? 0 : 8;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x800, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(raw.byteLength, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(e.mode !== undefined ? (3 << 8) | 20 : 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x800, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(raw.byteLength, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(e.mode !== undefined ? (e.mode << 16) >>> 0 : 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += local.length + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return new Uint8Array(Buffer.concat([...locals, cd, end]));
}

export type TarEntry = { name: string; data?: string | Uint8Array; type?: "0" | "2" | "5" | "1"; linkname?: string; mode?: number };

function header(name: string, size: number, type: string, linkname = "", mode = 0o644): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, "utf8");
  h.write(`${mode.toString(8).padStart(7, "0")}\0`, 100);
  h.write("0000000\0", 108);
  h.write("0000000\0", 116);
  h.write(`${size.toString(8).padStart(11, "0")}\0`, 124);
  h.write("00000000000\0", 136);
  h.write("        ", 148);
  h.write(type, 156);
  h.write(linkname, 157, 100);
  h.write("ustar\0", 257);
  h.write("00", 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
  return h;
}

function pad(b: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(b), Buffer.alloc((512 - (b.byteLength % 512)) % 512)]);
}

/** A tar archive; names over 100 bytes get a pax header, as GNU tar and git archive write them. */
export function buildTar(entries: TarEntry[], gzip = true): Uint8Array {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = bytesOf(e.data);
    let name = e.name;
    if (Buffer.byteLength(name) > 100) {
      const rec = (len: number) => `${len} path=${e.name}\n`;
      let len = Buffer.byteLength(rec(0));
      while (Buffer.byteLength(rec(len)) !== len) len = Buffer.byteLength(rec(len));
      const pax = enc.encode(rec(len));
      parts.push(header("PaxHeader", pax.byteLength, "x"), pad(pax));
      name = name.slice(0, 99);
    }
    parts.push(header(name, e.type === "0" || e.type === undefined ? data.byteLength : 0, e.type ?? "0", e.linkname, e.mode));
    if (e.type === "0" || e.type === undefined) parts.push(pad(data));
  }
  parts.push(Buffer.alloc(1024));
  const tar = Buffer.concat(parts);
  return new Uint8Array(gzip ? gzipSync(tar) : tar);
}
