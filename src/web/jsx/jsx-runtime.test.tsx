import { describe, expect, test } from "bun:test";
import { escapeHtml, raw, render } from "./jsx-runtime.ts";

describe("JSX runtime", () => {
  test("text and attributes are escaped by default", () => {
    const evil = `"><script>alert('x')</script>`;
    const out = render(<a title={evil} href={evil}>{evil}</a>);
    expect(out).not.toContain("<script>");
    expect(out).toBe(
      `<a title="&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" href="&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;">&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</a>`,
    );
  });

  test("raw() passes trusted markup through", () => {
    expect(render(<div>{raw("<b>ok</b>")}</div>)).toBe("<div><b>ok</b></div>");
  });

  test("booleans, null and arrays", () => {
    expect(render(<input disabled checked={false} value={undefined} />)).toBe("<input disabled>");
    expect(render(<ul>{["a", "b"].map((x) => <li>{x}</li>)}{null}{false}{0}</ul>)).toBe("<ul><li>a</li><li>b</li>0</ul>");
  });

  test("components and fragments", () => {
    const Hello = (p: { name: string }) => <p>Hello {p.name}</p>;
    expect(render(<><Hello name="<you>" /><br /></>)).toBe("<p>Hello &lt;you&gt;</p><br>");
  });

  test("escapeHtml leaves clean strings alone", () => {
    expect(escapeHtml("plain")).toBe("plain");
    expect(escapeHtml(`&<>"'`)).toBe("&amp;&lt;&gt;&quot;&#39;");
  });
});
