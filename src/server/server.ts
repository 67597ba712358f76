/**
 * The HTTP server: Elysia on Bun. Routes come from the one route table
 * (routes.ts) and always pass through the guard; this file adds what every
 * response gets — request id, security headers, metrics, access log, the
 * error shape — and serves the embedded assets.
 */
import { Elysia } from "elysia";
import type { App } from "../core/app.ts";
import { ApiError } from "../lib/errors.ts";
import { RateLimiter } from "../lib/ratelimit.ts";
import { assetResponse } from "../web/assets.ts";
import { errorPage } from "../web/error-page.tsx";
import { LoginRedirect, PERMISSIONS, runRoute, type RouteDef } from "./guard.ts";
import { apiErrorResponse, html, redirect, securityHeaders } from "./http.ts";
import { observeRequest } from "./metrics.ts";
import { allRoutes } from "./routes.ts";

const REQUEST_ID_RE = /^[A-Za-z0-9._-]{1,64}$/;

export type ServerOptions = { routes?: RouteDef[] };

/** Socket handlers (Elysia dispatches to `ws.data`) that only close, with the refusal as a 44xx code. */
function refusedSocket(e: ApiError) {
  const code = e.status >= 400 && e.status < 500 ? 4000 + e.status : 1011;
  const reason = e.message.length > 120 ? `${e.message.slice(0, 117)}...` : e.message;
  return { open: (ws: { close(code: number, reason: string): void }) => ws.close(code, reason), message() {}, close() {} };
}

function clientIp(app: App, request: Request, socketIp: string | undefined): string {
  if (app.config.trustProxy) {
    const fwd = request.headers.get("x-forwarded-for");
    if (fwd) return fwd.split(",")[0]?.trim() || socketIp || "unknown";
  }
  return socketIp ?? "unknown";
}

function errorResponse(app: App, def: RouteDef | undefined, path: string, e: unknown, requestId: string): Response {
  const wantsHtml = def ? def.kind === "page" : !path.startsWith("/api/");
  if (e instanceof LoginRedirect) return redirect(`/login?next=${encodeURIComponent(e.next)}`);
  if (e instanceof ApiError) {
    if (!wantsHtml) return apiErrorResponse(e);
    return html(errorPage(e.status, e.message), e.status, e.headers);
  }
  app.log.error("unhandled error", { requestId, path, error: (e as Error)?.stack ?? String(e) });
  const generic = new ApiError(500, "internal", `Something went wrong on our side. Reference: ${requestId}`);
  return wantsHtml ? html(errorPage(500, generic.message), 500) : apiErrorResponse(generic);
}

export function createServer(app: App, opts: ServerOptions = {}) {
  const routes = opts.routes ?? allRoutes;
  const https = app.config.baseUrl.startsWith("https:");
  const tokenRate = app.config.tokenRateLimit > 0 ? new RateLimiter({ max: app.config.tokenRateLimit, windowMs: 60_000 }) : null;

  const finish = (request: Request, route: string, res: Response, started: number, requestId: string, headers?: Headers) => {
    if (headers) headers.forEach((v, k) => res.headers.append(k, v));
    res.headers.set("X-Request-Id", requestId);
    securityHeaders(res.headers, https);
    const seconds = (performance.now() - started) / 1000;
    observeRequest(request.method, route, res.status, seconds);
    app.log.info("request", { requestId, method: request.method, route, status: res.status, ms: Math.round(seconds * 10000) / 10 });
    return res;
  };

  // Bun's own cap must admit a git push; every other route is held to maxBodyBytes by the guard.
  const server = new Elysia({
    name: "wove",
    serve: { maxRequestBodySize: Math.max(app.config.maxBodyBytes, app.config.maxPushBytes) + 1024 },
    // Bun's own frame cap is a backstop; the collab socket refuses large frames itself with 4413.
    websocket: { maxPayloadLength: app.config.collab.maxMessageBytes * 2 + 1024, idleTimeout: 60, perMessageDeflate: false, sendPings: true },
  });

  for (const def of routes) {
    if (!PERMISSIONS.includes(def.permission)) throw new Error(`route ${def.method} ${def.path} declares no known permission`);
    server.route(
      def.method,
      def.path,
      async ({ request, params, server: bun }) => {
        const started = performance.now();
        const incoming = request.headers.get("x-request-id");
        const requestId = incoming && REQUEST_ID_RE.test(incoming) ? incoming : crypto.randomUUID();
        const url = new URL(request.url);
        const headers = new Headers();
        const ip = clientIp(app, request, bun?.requestIP(request)?.address);
        let upgraded = false;
        const upgrade = (data: unknown) => (upgraded = bun?.upgrade(request, { data, headers }) ?? false);
        let res: Response;
        try {
          res = await runRoute(app, def, { request, url, params: params as Record<string, string>, ip, requestId, log: app.log.child({ requestId }), headers, upgrade }, { tokenRate });
        } catch (e) {
          // A socket client cannot read an HTTP refusal: upgrade, then close with 4000 + status.
          if (def.websocket && e instanceof ApiError && upgrade(refusedSocket(e))) res = new Response(null, { status: 204 });
          else res = errorResponse(app, def, url.pathname, e, requestId);
        }
        if (upgraded) {
          observeRequest(request.method, def.path, 101, (performance.now() - started) / 1000);
          app.log.info("request", { requestId, method: request.method, route: def.path, status: 101 });
          return undefined; // Bun owns the connection now
        }
        return finish(request, def.path, res, started, requestId, headers);
      },
      { parse: "none" },
    );
  }

  server.get("/assets/*", ({ request }) => {
    const started = performance.now();
    const res = assetResponse(request) ?? html(errorPage(404, "No such file."), 404);
    return finish(request, "/assets/*", res, started, crypto.randomUUID());
  });

  server.onError(({ request, code, error }) => {
    const started = performance.now();
    const requestId = crypto.randomUUID();
    const path = new URL(request.url).pathname;
    let e: unknown = error;
    if (code === "NOT_FOUND") e = new ApiError(404, "not_found", "No such page or endpoint.");
    else if (code === "PARSE" || code === "VALIDATION") e = new ApiError(400, "bad_request", String((error as Error).message));
    else if (typeof error === "object" && error && "status" in error && (error as { status: number }).status === 413) {
      e = new ApiError(413, "too_large", "The request body is too large.");
    }
    return finish(request, code === "NOT_FOUND" ? "unmatched" : "error", errorResponse(app, undefined, path, e, requestId), started, requestId);
  });

  return server;
}

