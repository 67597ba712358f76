import { describe, expect, test } from "bun:test";
import { renderInline, renderMarkdown } from "./pages-markdown.ts";

const resolve = (rel: string) => `/p/blob/${rel}`;
const md = (src: string) => renderMarkdown(src, { resolve });

describe("markdown is safe", () => {
  const attacks = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click]( javascript:alert(1))",
    "[click](java\tscript:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD4=)",
    "[x](vbscript:msgbox)",
    "[x](//evil.example/)",
    '[x](http://a" onmouseover="alert(1))',
    "![a](javascript:alert(1))",
    "<javascript:alert(1)>",
    "`<b>` **<i>x</i>**",
    '```html\n<script>alert("x")</script>\n```',
    "| a | <b> |\n|---|---|\n| <i> | x |",
    "> <iframe src=x>",
    "- <svg onload=alert(1)>",
    "\u0000<b>\u0000",
  ];
  for (const a of attacks) {
    test(JSON.stringify(a), () => {
      const out = md(a);
      expect(out).not.toMatch(/<(?:script|img|iframe|svg|b|i)[\s>]/i);
      expect(out).not.toMatch(/href="(?:javascript|data|vbscript|\/\/)/i);
      expect(out).not.toMatch(/\son\w+="/i);
    });
  }
});

describe("markdown blocks", () => {
  test("headings shift under the page's h1", () => {
    expect(md("# Title\n## Sub")).toBe("<h2>Title</h2>\n<h3>Sub</h3>");
    expect(renderMarkdown("###### Deep", {}, 1)).toBe("<h6>Deep</h6>");
  });
  test("paragraphs join lines; blank lines separate them", () => {
    expect(md("one\ntwo\n\nthree")).toBe("<p>one\ntwo</p>\n<p>three</p>");
  });
  test("lists, ordered lists with a start, and nesting", () => {
    expect(md("- a\n- b")).toBe("<ul><li>a</li><li>b</li></ul>");
    expect(md("3. x\n4. y")).toBe('<ol start="3"><li>x</li><li>y</li></ol>');
    expect(md("- a\n  - b\n- c")).toBe("<ul><li><p>a</p>\n<ul><li>b</li></ul></li><li>c</li></ul>");
  });
  test("fenced code is highlighted and escaped", () => {
    expect(md("```js\nconst a = '<b>';\n```")).toBe(
      '<pre><code data-lang="js"><span class="hl-kw">const</span> a <span class="hl-op">=</span> <span class="hl-str">&#39;&lt;b&gt;&#39;</span><span class="hl-punc">;</span></code></pre>',
    );
    expect(md("~~~\nplain <x>\n~~~")).toBe("<pre><code>plain &lt;x&gt;</code></pre>");
  });
  test("quotes, rules and tables", () => {
    expect(md("> quoted\n> more")).toBe("<blockquote><p>quoted\nmore</p></blockquote>");
    expect(md("---")).toBe("<hr>");
    expect(md("| a | b |\n|:--|--:|\n| 1 | 2 |")).toBe(
      '<div class="table-wrap"><table class="list"><thead><tr><th style="text-align:left">a</th><th style="text-align:right">b</th></tr></thead><tbody><tr><td style="text-align:left">1</td><td style="text-align:right">2</td></tr></tbody></table></div>',
    );
  });
  test("huge input is shown as preformatted text", () => {
    const big = "# x\n".repeat(70_000);
    expect(md(big).startsWith('<pre class="plain"># x')).toBe(true);
  });
});

describe("markdown inline", () => {
  test("emphasis, code, strikethrough", () => {
    expect(renderInline("**b** *i* _j_ `c*d*` ~~s~~")).toBe("<strong>b</strong> <em>i</em> <em>j</em> <code>c*d*</code> <del>s</del>");
    expect(renderInline("snake_case_name and 2*3*4")).toBe("snake_case_name and 2*3*4");
  });
  test("links: external get rel, relative resolve inside the project, unsafe ones become text", () => {
    expect(renderInline("[site](https://wove.dev/a_b_c)", { resolve })).toBe('<a href="https://wove.dev/a_b_c" rel="nofollow noopener noreferrer">site</a>');
    expect(renderInline("[guide](docs/guide.md#intro)", { resolve })).toBe('<a href="/p/blob/docs/guide.md#intro">guide</a>');
    expect(renderInline("[top](#usage)", { resolve })).toBe('<a href="#usage">top</a>');
    expect(renderInline("[bad](javascript:alert(1))", { resolve })).toBe("bad");
    expect(renderInline("[rel](x.md)")).toBe("rel"); // no resolver: relative links are dropped
  });
  test("link text may hold code and emphasis; URLs are not mangled by emphasis", () => {
    expect(renderInline("[`api` *docs*](https://x.dev/__init__)", { resolve })).toBe(
      '<a href="https://x.dev/__init__" rel="nofollow noopener noreferrer"><code>api</code> <em>docs</em></a>',
    );
  });
  test("bare URLs and autolinks", () => {
    expect(renderInline("see https://wove.dev/docs.")).toBe('see <a href="https://wove.dev/docs" rel="nofollow noopener noreferrer">https://wove.dev/docs</a>.');
    expect(renderInline("<https://a.dev?x=1&y=2>")).toBe('<a href="https://a.dev?x=1&amp;y=2" rel="nofollow noopener noreferrer">https://a.dev?x=1&amp;y=2</a>');
  });
  test("images become links, never <img>", () => {
    expect(renderInline("![logo](img/logo.png)", { resolve })).toBe('<a href="/p/blob/img/logo.png">🖼 logo</a>');
  });
});
