/** The OpenAPI document and a readable API reference page, both generated from the route table. */
import { route, type RouteDef } from "./guard.ts";
import { html, json } from "./http.ts";
import { openApiDocument } from "./openapi.ts";
import { doc, Layout } from "../web/layout.tsx";
import { VERSION } from "../cli/version.ts";

export function docsRoutes(all: () => RouteDef[]) {
  return [
    route({
      method: "GET",
      path: "/api/v1/openapi.json",
      permission: "public",
      kind: "api",
      summary: "This API's OpenAPI 3.1 document.",
      tags: ["system"],
      handler: (ctx) => json(openApiDocument(all(), VERSION, ctx.app.config.baseUrl)),
    }),
    route({
      method: "GET",
      path: "/api/docs",
      permission: "public",
      kind: "page",
      summary: "Readable API reference.",
      handler: (ctx) => {
        const api = all().filter((r) => r.kind === "api");
        const groups = new Map<string, RouteDef[]>();
        for (const r of api) {
          const tag = r.tags?.[0] ?? "other";
          groups.set(tag, [...(groups.get(tag) ?? []), r]);
        }
        return html(
          doc(
            <Layout title="API reference" actor={ctx.actor} csrf={ctx.actor.kind === "user" ? ctx.csrf() : undefined}>
              <div class="stack">
                <div class="page-head">
                  <h1>API reference</h1>
                  <a class="btn" href="/api/v1/openapi.json">
                    OpenAPI JSON
                  </a>
                </div>
                <p>
                  Send <code>Authorization: Bearer &lt;token&gt;</code>. Errors are <code>{'{"error":{"code","message"}}'}</code> with status 400,
                  401, 403, 404, 409, 413, 422 or 429.
                </p>
                {[...groups].map(([tag, routes]) => (
                  <section class="card">
                    <h2>{tag}</h2>
                    <div class="table-wrap">
                      <table class="list">
                        <thead>
                          <tr>
                            <th>Method</th>
                            <th>Path</th>
                            <th>Who</th>
                            <th>What</th>
                          </tr>
                        </thead>
                        <tbody>
                          {routes.map((r) => (
                            <tr>
                              <td>
                                <code>{r.method}</code>
                              </td>
                              <td>
                                <code>{r.path.replace(/\*$/, "<path>")}</code>
                              </td>
                              <td>{r.permission}</td>
                              <td>{r.summary}</td>
                            </tr>
                          ))}
                        </tbody>
                      </table>
                    </div>
                  </section>
                ))}
              </div>
            </Layout>,
          ),
        );
      },
    }),
  ];
}
