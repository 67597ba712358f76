/**
 * The OpenAPI 3.1 document, generated from the route table so it cannot drift:
 * each API route's summary, permission, body and query schemas (TypeBox is
 * JSON Schema) become an operation.
 */
import type { RouteDef } from "./guard.ts";

type Json = Record<string, unknown>;

function openApiPath(path: string): { path: string; params: string[] } {
  const params: string[] = [];
  const p = path
    .replace(/:([A-Za-z]+)/g, (_, n: string) => {
      params.push(n);
      return `{${n}}`;
    })
    .replace(/\*$/, () => {
      params.push("path");
      return "{path}";
    });
  return { path: p, params };
}

function clean(schema: unknown): unknown {
  // TypeBox adds symbol keys only; JSON round-trip drops them.
  return JSON.parse(JSON.stringify(schema));
}

const ERROR_SCHEMA = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "message"],
      properties: { code: { type: "string" }, message: { type: "string" }, details: { type: "object", additionalProperties: { type: "string" } } },
    },
  },
};

export function openApiDocument(routes: RouteDef[], version: string, baseUrl: string): Json {
  const paths: Record<string, Json> = {};
  for (const r of routes) {
    if (r.kind !== "api") continue;
    const { path, params } = openApiPath(r.path);
    const op: Json = {
      summary: r.summary,
      tags: r.tags ?? [],
      "x-permission": r.permission,
      security: r.permission === "public" ? [] : [{ bearer: [] }, { session: [] }],
      parameters: [
        ...params.map((n) => ({ name: n, in: "path", required: true, schema: { type: "string" } })),
        ...Object.entries(((r.query as Json | undefined)?.properties as Record<string, Json> | undefined) ?? {}).map(([n, s]) => ({
          name: n,
          in: "query",
          required: false,
          schema: clean(s),
        })),
      ],
      responses: {
        ...Object.fromEntries(Object.entries(r.responses ?? { 200: "OK" }).map(([code, d]) => [code, { description: d }])),
        default: { description: "Error", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } },
      },
    };
    if (r.body) op.requestBody = { required: true, content: { "application/json": { schema: clean(r.body) } } };
    if (r.bodyKind === "raw") op.requestBody = { required: true, content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } } };
    paths[path] = { ...(paths[path] ?? {}), [r.method.toLowerCase()]: op };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Wove API",
      version,
      description:
        "Authenticate with `Authorization: Bearer <token>` (create one with `wove admin token` or on the account page). Errors are `{\"error\":{\"code\",\"message\"}}`. `x-permission` says who may call each operation.",
    },
    servers: [{ url: baseUrl }],
    components: {
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer" },
        session: { type: "apiKey", in: "cookie", name: "wove_session" },
      },
      schemas: { Error: ERROR_SCHEMA },
    },
    paths,
  };
}
