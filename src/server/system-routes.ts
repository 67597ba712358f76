/** Health, readiness and metrics: public, cheap, no database write. */
import { sql } from "drizzle-orm";
import { route } from "./guard.ts";
import { json } from "./http.ts";
import { renderMetrics } from "./metrics.ts";

const HEALTHY = JSON.stringify({ status: "ok" });

export const systemRoutes = [
  route({
    method: "GET",
    path: "/healthz",
    permission: "public",
    kind: "api",
    summary: "Liveness: the process answers.",
    tags: ["system"],
    handler: () => new Response(HEALTHY, { headers: { "Content-Type": "application/json" } }),
  }),
  route({
    method: "GET",
    path: "/readyz",
    permission: "public",
    kind: "api",
    summary: "Readiness: the database answers.",
    tags: ["system"],
    handler: async ({ app }) => {
      try {
        await app.db.orm.run(sql`SELECT 1`);
        return json({ status: "ok", checks: { database: "ok" } });
      } catch (e) {
        return json({ status: "unavailable", checks: { database: (e as Error).message } }, 503);
      }
    },
  }),
  route({
    method: "GET",
    path: "/metrics",
    permission: "public",
    kind: "api",
    summary: "Prometheus metrics (text exposition format).",
    tags: ["system"],
    handler: () => new Response(renderMetrics(), { headers: { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" } }),
  }),
];
