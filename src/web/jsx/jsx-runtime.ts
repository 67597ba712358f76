/**
 * Wove's JSX runtime: JSX compiles to HTML strings, and every string that is
 * not already markup is escaped. Raw markup must be asked for by name with
 * `raw()`, so an XSS hole cannot be written by forgetting an attribute (the
 * footgun of runtimes that escape only on request).
 */

export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export type Child = Html | string | number | bigint | boolean | null | undefined | Child[];
type AttrValue = string | number | boolean | null | undefined;
export type Props = { [name: string]: AttrValue | Child } & { children?: Child };
export type Component<P = Record<string, unknown>> = (props: P & { children?: Child }) => Html;

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const ESCAPE_RE = /[&<>"']/g;

export function escapeHtml(text: string): string {
  return ESCAPE_RE.test(text) ? text.replace(ESCAPE_RE, (c) => ESCAPES[c] ?? c) : text;
}

/** Marks a string as trusted markup. Use only for markup built by Wove itself. */
export function raw(markup: string): Html {
  return new Html(markup);
}

const VOID = new Set(["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"]);

function renderChild(child: Child, out: string[]): void {
  if (child === null || child === undefined || child === false || child === true) return;
  if (child instanceof Html) out.push(child.value);
  else if (Array.isArray(child)) for (const c of child) renderChild(c, out);
  else out.push(escapeHtml(String(child)));
}

function renderAttrs(props: Props): string {
  let s = "";
  for (const name in props) {
    if (name === "children") continue;
    const v = props[name];
    if (v === null || v === undefined || v === false) continue;
    const attr = name === "className" ? "class" : name;
    if (v === true) s += ` ${attr}`;
    else s += ` ${attr}="${escapeHtml(String(v))}"`;
  }
  return s;
}

export function jsx(type: string | Component<Props>, props: Props): Html {
  if (typeof type === "function") return type(props);
  const out: string[] = [`<${type}${renderAttrs(props)}>`];
  if (VOID.has(type)) return new Html(out[0] ?? "");
  renderChild(props.children, out);
  out.push(`</${type}>`);
  return new Html(out.join(""));
}

export const jsxs = jsx;
export const jsxDEV = jsx;

export function Fragment(props: { children?: Child }): Html {
  const out: string[] = [];
  renderChild(props.children, out);
  return new Html(out.join(""));
}

/** Renders any child (component output, text, arrays) to an HTML string. */
export function render(child: Child): string {
  const out: string[] = [];
  renderChild(child, out);
  return out.join("");
}

export declare namespace JSX {
  type Element = Html;
  interface ElementChildrenAttribute {
    children: unknown;
  }
  interface IntrinsicElements {
    [tag: string]: Props;
  }
}
